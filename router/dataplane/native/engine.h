/*
 * The sleeve packet engine: a TAP port on the weft bridge on one side, a UDP
 * socket on the other, and two threads between them so that no packet ever
 * touches the JavaScript event loop.
 *
 *   transmit thread: read (super)frames from the TAP → look up the destination
 *     MAC → seal for the next hop(s) → sendmmsg
 *   receive thread:  recvmmsg → open (replay window, AEAD) → learn the source
 *     MAC → write to the TAP and/or relay (re-sealed) along mesh routes;
 *     also reads fastdp heartbeats from an AF_PACKET socket
 *
 * JavaScript configures it (peers with keys and addresses, routes, MAC claims),
 * sends heartbeats through it, and drains events and counters. Configuration
 * lives behind a read-write lock the data threads hold per batch.
 */
#ifndef WEFT_ENGINE_H
#define WEFT_ENGINE_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "aead.h"
#include "mactable.h"
#include "replay.h"
#include "sleeve_wire.h"

#define ENG_MAX_PEERS 1024
#define ENG_MAX_BHOPS 64
#define ENG_SELF 0
#define ENG_BATCH 32
#define ENG_BUF (SLV_MAX_DGRAM + 64)
/* Default largest datagram: a 1500-byte underlay minus IPv4 and UDP headers. */
#define ENG_DEFAULT_DGRAM 1472
#define ENG_MIN_DGRAM 576
#define ENG_EVENTS 4096

enum eng_event_kind {
  EV_MAC_LEARNED = 1,    /* mac now behind peer (peer2 = previous peer, if it moved) */
  EV_FLOOD_DELIVERED,    /* a flooded unknown unicast for mac arrived from origin peer */
  EV_HEARTBEAT,          /* sleeve heartbeat/probe from peer: seq, size (datagram bytes) */
  EV_FASTDP_HEARTBEAT,   /* fastdp heartbeat from peer: seq */
  EV_UNKNOWN_PEER,       /* a frame from an origin we have no slot for */
  EV_ERROR,              /* a data thread hit an I/O error: seq = errno, size = where */
};

typedef struct {
  uint8_t kind;
  uint8_t sub; /* EV_HEARTBEAT: the sleeve packet type (heartbeat or PMTU probe) */
  uint8_t peer[6];
  uint8_t peer2[6];
  uint8_t has_peer2;
  uint8_t mac[6];
  uint64_t seq;
  uint32_t size;
} eng_event;

typedef struct {
  uint8_t valid;
  uint32_t key_id;
  uint8_t key[32];
  replay_t win;
} recv_session;

typedef struct {
  _Atomic uint64_t tx_packets, tx_bytes, rx_packets, rx_bytes;
  _Atomic uint64_t tx_frames, rx_frames, relayed, heartbeats_rx;
  _Atomic uint64_t drops[SLV_E_COUNT]; /* receive-path rejections by reason */
  _Atomic uint64_t tx_oversize, tx_errors, tx_fragments, rx_fragments, reassembled, reassembly_dropped;
} peer_stats;

typedef struct {
  uint8_t used;
  uint8_t name[6];
  uint8_t direct;    /* a sleeve path exists: address and (maybe) keys */
  uint8_t encrypted; /* packets to/from it are sealed */
  struct sockaddr_in addr;
  uint32_t max_dgram; /* largest datagram we send to it: path MTU - 28; larger packets go as fragments */
  uint32_t send_key_id;
  uint8_t send_key[32];
  _Atomic uint64_t send_ctr;
  _Atomic uint32_t frag_id; /* packet id of the next fragmented packet */
  recv_session rs[2]; /* current and previous (a reconnect overlaps sessions) */
  int16_t next_hop;   /* unicast next hop slot toward this peer, -1 = unreachable */
  uint16_t nbhops;
  uint16_t bhops[ENG_MAX_BHOPS]; /* where a broadcast originated by this peer goes on from us */
  peer_stats st;
} eng_peer;

typedef struct {
  _Atomic uint64_t tap_rx_frames, tap_rx_bytes, tap_tx_frames, tap_tx_bytes, tap_tx_errors;
  _Atomic uint64_t gso_frames, no_route, flood_frames, bcast_frames, loops, ttl_expired;
  _Atomic uint64_t unknown_sender, not_for_us, bad_frame, mac_table_full, events_dropped;
  _Atomic uint64_t rx_datagrams, tx_datagrams, rx_batches, tx_batches, fastdp_hb_rx, rx_gro_buffers, tx_gso_trains;
  _Atomic uint64_t drops[SLV_E_COUNT];
} eng_stats;

typedef struct engine {
  int tap_fd, udp_fd, probe_fd, wake_tx, wake_rx;
  _Atomic int hb_fd; /* fastdp heartbeat socket, swapped in by eng_attach_fastdp_hb */
  int vnet; /* TAP has a vnet header */
  _Atomic int gso; /* UDP_SEGMENT works on this host (cleared if the kernel refuses a train) */
  int gro;         /* UDP_GRO is on: one receive may hold many datagrams */
  _Atomic int stop;
  pthread_t tx_thread, rx_thread;
  int threads_started;

  pthread_rwlock_t cfg;
  eng_peer *peers; /* [ENG_MAX_PEERS]; slot 0 is ourselves */
  int16_t name_idx[4096]; /* open-addressed name → slot (-1 empty) */
  mactable macs;
  uint32_t mac_max_age; /* seconds; 0 = never expire */

  pthread_mutex_t ev_lock;
  eng_event ev[ENG_EVENTS];
  uint32_t ev_head, ev_len;
  void (*notify)(void *);
  void *notify_arg;

  /* Rate limit of flood-delivered events: last report time per hashed MAC. */
  _Atomic uint32_t flood_seen[1024];

  aead_ctx *js_aead; /* for heartbeats sent from the JS thread */
  pthread_mutex_t js_lock;
  eng_stats st;
} engine;

typedef struct {
  const char *tap_name;
  int vnet_hdr;     /* read/write frames with a virtio-net header (offloads) */
  unsigned offload; /* TUN_F_* flags for TUNSETOFFLOAD (needs vnet_hdr) */
  uint8_t self[6];
  uint32_t bind_ip; /* network order; INADDR_ANY */
  uint16_t port;
  int rcvbuf, sndbuf;
  int no_gso; /* do not use UDP GSO/GRO even if the kernel has them (for measurements) */
} eng_config;

/* Returns 0 or -errno; *err_where names the failing step. */
int eng_create(engine **out, const eng_config *cfg, void (*notify)(void *), void *notify_arg, const char **err_where);
int eng_start(engine *e);
void eng_destroy(engine *e);

/* Configuration (JS thread). Names are 6 bytes. */
int eng_peer_slot(engine *e, const uint8_t name[6], int create); /* caller holds the write lock when create */
int eng_set_peer(engine *e, const uint8_t name[6], uint32_t ip, uint16_t port, int encrypted, const uint8_t *send_key,
                 uint32_t send_key_id, const uint8_t *recv_key, uint32_t recv_key_id, uint32_t max_dgram);
/* The direct sleeve path to a peer is gone (connection closed): keys wiped, slot kept. */
int eng_drop_path(engine *e, const uint8_t name[6]);
/* The mesh forgot the peer: free its slot and its MACs. */
int eng_forget_peer(engine *e, const uint8_t name[6]);
/* Remove MACs not seen for max_age seconds; cb gets each. Returns the count. */
int eng_expire_macs(engine *e, uint32_t max_age, void (*cb)(void *, const uint8_t mac[6], const uint8_t peer[6]), void *arg);
void eng_each_mac(engine *e, void (*cb)(void *, const uint8_t mac[6], const uint8_t peer[6], uint32_t age), void *arg);
/* Replace all routes: unicast pairs (dst, next hop) and broadcast lists (origin → hops). */
typedef struct {
  uint8_t dst[6], hop[6];
} eng_uroute;
typedef struct {
  uint8_t origin[6];
  uint16_t n;
  uint8_t (*hops)[6];
} eng_broute;
int eng_set_routes(engine *e, const eng_uroute *u, int nu, const eng_broute *b, int nb);
int eng_claim(engine *e, const uint8_t mac[6], const uint8_t peer[6]);
int eng_set_offload(engine *e, unsigned flags);

/* Heartbeats (JS thread): sleeve heartbeat of `size` datagram bytes; a PMTU
 * probe goes out with DF set, unfragmented, to learn whether that size passes. */
int eng_send_heartbeat(engine *e, const uint8_t peer[6], uint8_t type, uint64_t seq, uint32_t size);
/* frame_len: the inner Ethernet frame's size, padded (the largest frame fastdp carries). */
int eng_send_fastdp_heartbeat(engine *e, uint32_t ip, uint16_t port, uint32_t vni, uint64_t seq, uint32_t frame_len);
int eng_attach_fastdp_hb(engine *e, const char *ifname);

/* Events: copy up to max, return the count. */
int eng_drain_events(engine *e, eng_event *out, int max);
uint32_t eng_now(void);

#endif
