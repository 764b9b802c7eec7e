/* See engine.h for the design; docs/protocol.md for the bytes. */
#define _GNU_SOURCE
#include "engine.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "envelope.h"
#include "weft_tun.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define RELAXED memory_order_relaxed
#define INC(x) atomic_fetch_add_explicit(&(x), 1, RELAXED)
#define ADD(x, n) atomic_fetch_add_explicit(&(x), (n), RELAXED)

static const uint8_t BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

uint32_t eng_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint32_t)t.tv_sec;
}

/* ---------- events ---------- */

static void push_event(engine *e, const eng_event *ev) {
  int was_empty;
  pthread_mutex_lock(&e->ev_lock);
  if (e->ev_len == ENG_EVENTS) {
    pthread_mutex_unlock(&e->ev_lock);
    INC(e->st.events_dropped);
    return;
  }
  was_empty = e->ev_len == 0;
  e->ev[(e->ev_head + e->ev_len) % ENG_EVENTS] = *ev;
  e->ev_len++;
  pthread_mutex_unlock(&e->ev_lock);
  /* One wake-up per burst: JS drains everything queued when it runs. */
  if (was_empty && e->notify) e->notify(e->notify_arg);
}

int eng_drain_events(engine *e, eng_event *out, int max) {
  int n = 0;
  pthread_mutex_lock(&e->ev_lock);
  while (n < max && e->ev_len > 0) {
    out[n++] = e->ev[e->ev_head];
    e->ev_head = (e->ev_head + 1) % ENG_EVENTS;
    e->ev_len--;
  }
  pthread_mutex_unlock(&e->ev_lock);
  return n;
}

/* At most one report per key per second, so a flood cannot flood JavaScript too. */
static int rate_ok(engine *e, uint64_t key) {
  uint32_t now = eng_now();
  uint32_t i = (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 54) & 1023;
  uint32_t last = atomic_load_explicit(&e->flood_seen[i], RELAXED);
  if (last == now + 1) return 0; /* stored as now + 1 so that 0 means never */
  atomic_store_explicit(&e->flood_seen[i], now + 1, RELAXED);
  return 1;
}

static void ev_peer(engine *e, uint8_t kind, const uint8_t peer[6], const uint8_t *mac, uint64_t seq, uint32_t size,
                    uint8_t sub) {
  eng_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = kind;
  ev.sub = sub;
  memcpy(ev.peer, peer, 6);
  if (mac) memcpy(ev.mac, mac, 6);
  ev.seq = seq;
  ev.size = size;
  push_event(e, &ev);
}

static void ev_error(engine *e, int err, uint32_t where) {
  eng_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = EV_ERROR;
  ev.seq = (uint64_t)err;
  ev.size = where;
  if (rate_ok(e, 0xE0000000ull + where)) push_event(e, &ev);
}

/* ---------- peer slots (callers hold the config lock) ---------- */

static uint32_t name_hash(const uint8_t n[6]) {
  uint64_t k = mac_key(n) * 0x9E3779B97F4A7C15ull;
  return (uint32_t)(k >> 52) & 4095;
}

static int name_lookup(const engine *e, const uint8_t n[6]) {
  for (uint32_t i = name_hash(n), c = 0; c < 4096; i = (i + 1) & 4095, c++) {
    int16_t s = e->name_idx[i];
    if (s < 0) return -1;
    if (name_eq(e->peers[s].name, n)) return s;
  }
  return -1;
}

static void name_insert(engine *e, int slot) {
  uint32_t i = name_hash(e->peers[slot].name);
  while (e->name_idx[i] >= 0) i = (i + 1) & 4095;
  e->name_idx[i] = (int16_t)slot;
}

static void name_rebuild(engine *e) {
  for (int i = 0; i < 4096; i++) e->name_idx[i] = -1;
  for (int s = 0; s < ENG_MAX_PEERS; s++)
    if (e->peers[s].used) name_insert(e, s);
}

int eng_peer_slot(engine *e, const uint8_t name[6], int create) {
  int s = name_lookup(e, name);
  if (s >= 0 || !create) return s;
  for (s = 1; s < ENG_MAX_PEERS; s++) {
    eng_peer *p = &e->peers[s];
    if (p->used) continue;
    memset(p, 0, sizeof *p);
    p->used = 1;
    memcpy(p->name, name, 6);
    p->next_hop = -1;
    p->max_dgram = ENG_DEFAULT_DGRAM;
    name_insert(e, s);
    return s;
  }
  return -ENOSPC;
}

/* ---------- create / destroy ---------- */

static int set_sock_buf(int fd, int force_opt, int opt, int bytes) {
  if (bytes <= 0) return 0;
  if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof bytes) == 0) return 0;
  return setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes);
}

int eng_create(engine **out, const eng_config *cfg, void (*notify)(void *), void *notify_arg, const char **where) {
  engine *e = calloc(1, sizeof *e);
  int err = 0;
  if (!e) return -ENOMEM;
  e->tap_fd = e->udp_fd = e->hb_fd = e->probe_fd = e->wake_tx = e->wake_rx = -1;
  e->notify = notify;
  e->notify_arg = notify_arg;
  e->mac_max_age = 600;
  /* Writers (JavaScript reconfiguring) must not starve behind the data threads' read locks. */
  pthread_rwlockattr_t ra;
  pthread_rwlockattr_init(&ra);
  pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  pthread_rwlock_init(&e->cfg, &ra);
  pthread_rwlockattr_destroy(&ra);
  pthread_mutex_init(&e->ev_lock, NULL);
  pthread_mutex_init(&e->js_lock, NULL);
  e->peers = calloc(ENG_MAX_PEERS, sizeof *e->peers);
  e->js_aead = aead_new();
  if (!e->peers || !e->js_aead || mt_init(&e->macs) != 0) {
    *where = "alloc";
    err = -ENOMEM;
    goto fail;
  }
  for (int i = 0; i < 4096; i++) e->name_idx[i] = -1;
  e->peers[ENG_SELF].used = 1;
  memcpy(e->peers[ENG_SELF].name, cfg->self, 6);
  e->peers[ENG_SELF].next_hop = -1;
  name_insert(e, ENG_SELF);

  e->udp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (e->udp_fd < 0) {
    *where = "socket";
    err = -errno;
    goto fail;
  }
  /* Never set DF: a TSO super-frame travels as one datagram that the
   * underlay fragments (the PMTU probe tells when fragments do not pass). */
  int pmtu = IP_PMTUDISC_DONT, one = 1;
  setsockopt(e->udp_fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
  /* No SO_REUSEADDR: two engines must never share (and split) one port. */
  set_sock_buf(e->udp_fd, SO_RCVBUFFORCE, SO_RCVBUF, cfg->rcvbuf);
  set_sock_buf(e->udp_fd, SO_SNDBUFFORCE, SO_SNDBUF, cfg->sndbuf);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(cfg->port), .sin_addr.s_addr = cfg->bind_ip};
  if (bind(e->udp_fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    *where = "bind";
    err = -errno;
    goto fail;
  }
  /* The TAP after the port: a second router in this namespace fails on the port, the clearer error. */
  char actual[IFNAMSIZ];
  e->vnet = cfg->vnet_hdr != 0;
  int tflags = WEFT_TUN_TAP | WEFT_TUN_NONBLOCK | (e->vnet ? WEFT_TUN_VNET_HDR : 0);
  e->tap_fd = weft_tun_open(cfg->tap_name, tflags, actual);
  if (e->tap_fd < 0) {
    *where = "open tap";
    err = e->tap_fd;
    goto fail;
  }
  if (e->vnet && (err = weft_tun_set_offload(e->tap_fd, cfg->offload)) < 0) {
    *where = "TUNSETOFFLOAD";
    goto fail;
  }

  if (!cfg->no_gso) {
    /* GRO: the kernel hands us a train of datagrams from one sender in one
     * receive; GSO: we hand it a train in one send. The underlay then moves
     * one 64 KB buffer instead of ~45 packets (measured 3.7 -> 58 Gbit/s for
     * plain UDP through a veth/bridge underlay). */
    int gso_size = 1400, zero = 0;
    e->gso = setsockopt(e->udp_fd, SOL_UDP, UDP_SEGMENT, &gso_size, sizeof gso_size) == 0;
    if (e->gso) setsockopt(e->udp_fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof zero);
    e->gro = setsockopt(e->udp_fd, SOL_UDP, UDP_GRO, &one, sizeof one) == 0;
  }
  /* PMTU probes leave with DF set and bypass the PMTU cache. */
  e->probe_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (e->probe_fd >= 0) {
    int probe = IP_PMTUDISC_PROBE;
    setsockopt(e->probe_fd, IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof probe);
    struct sockaddr_in pa = {.sin_family = AF_INET, .sin_addr.s_addr = cfg->bind_ip};
    bind(e->probe_fd, (struct sockaddr *)&pa, sizeof pa);
  }
  e->wake_tx = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  e->wake_rx = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (e->wake_tx < 0 || e->wake_rx < 0) {
    *where = "eventfd";
    err = -errno;
    goto fail;
  }
  *out = e;
  return 0;
fail:
  eng_destroy(e);
  return err;
}

static void *tx_main(void *arg);
static void *rx_main(void *arg);

int eng_start(engine *e) {
  if (e->threads_started) return 0;
  int r = pthread_create(&e->tx_thread, NULL, tx_main, e);
  if (r) return -r;
  r = pthread_create(&e->rx_thread, NULL, rx_main, e);
  if (r) {
    atomic_store(&e->stop, 1);
    uint64_t one = 1;
    (void)!write(e->wake_tx, &one, 8);
    pthread_join(e->tx_thread, NULL);
    return -r;
  }
  pthread_setname_np(e->tx_thread, "weft-sleeve-tx");
  pthread_setname_np(e->rx_thread, "weft-sleeve-rx");
  e->threads_started = 1;
  return 0;
}

void eng_destroy(engine *e) {
  if (!e) return;
  if (e->threads_started) {
    uint64_t one = 1;
    atomic_store(&e->stop, 1);
    (void)!write(e->wake_tx, &one, 8);
    (void)!write(e->wake_rx, &one, 8);
    pthread_join(e->tx_thread, NULL);
    pthread_join(e->rx_thread, NULL);
  }
  int fds[] = {e->tap_fd, e->udp_fd, atomic_load(&e->hb_fd), e->probe_fd, e->wake_tx, e->wake_rx};
  for (unsigned i = 0; i < sizeof fds / sizeof fds[0]; i++)
    if (fds[i] >= 0) close(fds[i]);
  if (e->peers) {
    /* Keys never outlive the engine in freed memory. */
    memset(e->peers, 0, ENG_MAX_PEERS * sizeof *e->peers);
    free(e->peers);
  }
  if (e->macs.e) mt_destroy(&e->macs);
  aead_free(e->js_aead);
  pthread_rwlock_destroy(&e->cfg);
  pthread_mutex_destroy(&e->ev_lock);
  pthread_mutex_destroy(&e->js_lock);
  free(e);
}

/* ---------- configuration (JS thread) ---------- */

int eng_set_peer(engine *e, const uint8_t name[6], uint32_t ip, uint16_t port, int encrypted, const uint8_t *send_key,
                 uint32_t send_key_id, const uint8_t *recv_key, uint32_t recv_key_id, uint32_t max_dgram) {
  if (name_eq(name, e->peers[ENG_SELF].name)) return -EINVAL;
  if (encrypted && (!send_key || !recv_key)) return -EINVAL;
  pthread_rwlock_wrlock(&e->cfg);
  int s = eng_peer_slot(e, name, 1);
  if (s < 0) {
    pthread_rwlock_unlock(&e->cfg);
    return s;
  }
  eng_peer *p = &e->peers[s];
  p->addr.sin_family = AF_INET;
  p->addr.sin_addr.s_addr = ip;
  p->addr.sin_port = htons(port);
  p->max_dgram = max_dgram ? max_dgram : ENG_DEFAULT_DGRAM;
  if (p->max_dgram < ENG_MIN_DGRAM) p->max_dgram = ENG_MIN_DGRAM;
  if (p->max_dgram > SLV_MAX_DGRAM) p->max_dgram = SLV_MAX_DGRAM;
  if (encrypted) {
    /* A new session: counters restart at 0 under the new key, and the
     * previous receive key stays usable for packets still in flight. */
    if (!p->encrypted || p->send_key_id != send_key_id || memcmp(p->send_key, send_key, 32) != 0) {
      memcpy(p->send_key, send_key, 32);
      p->send_key_id = send_key_id;
      atomic_store(&p->send_ctr, 0);
    }
    if (!p->rs[0].valid || p->rs[0].key_id != recv_key_id || memcmp(p->rs[0].key, recv_key, 32) != 0) {
      p->rs[1] = p->rs[0];
      p->rs[0].valid = 1;
      p->rs[0].key_id = recv_key_id;
      memcpy(p->rs[0].key, recv_key, 32);
      rw_reset(&p->rs[0].win);
    }
  } else {
    memset(p->send_key, 0, 32);
    memset(p->rs, 0, sizeof p->rs);
    p->send_key_id = 0;
  }
  p->encrypted = encrypted != 0;
  p->direct = 1;
  pthread_rwlock_unlock(&e->cfg);
  return 0;
}

int eng_drop_path(engine *e, const uint8_t name[6]) {
  pthread_rwlock_wrlock(&e->cfg);
  int s = eng_peer_slot(e, name, 0);
  if (s > 0) {
    eng_peer *p = &e->peers[s];
    p->direct = 0;
    memset(p->send_key, 0, 32);
    memset(p->rs, 0, sizeof p->rs);
    p->send_key_id = 0;
  }
  pthread_rwlock_unlock(&e->cfg);
  return s > 0 ? 0 : -ENOENT;
}

int eng_forget_peer(engine *e, const uint8_t name[6]) {
  pthread_rwlock_wrlock(&e->cfg);
  int s = eng_peer_slot(e, name, 0);
  if (s > 0) {
    mt_remove_if(&e->macs, s, 0, NULL, NULL);
    memset(&e->peers[s], 0, sizeof e->peers[s]);
    for (int i = 0; i < ENG_MAX_PEERS; i++) {
      eng_peer *p = &e->peers[i];
      if (!p->used) continue;
      if (p->next_hop == s) p->next_hop = -1;
      uint16_t k = 0;
      for (uint16_t j = 0; j < p->nbhops; j++)
        if (p->bhops[j] != s) p->bhops[k++] = p->bhops[j];
      p->nbhops = k;
    }
    name_rebuild(e);
  }
  pthread_rwlock_unlock(&e->cfg);
  return s > 0 ? 0 : -ENOENT;
}

int eng_set_routes(engine *e, const eng_uroute *u, int nu, const eng_broute *b, int nb) {
  int err = 0;
  pthread_rwlock_wrlock(&e->cfg);
  for (int s = 0; s < ENG_MAX_PEERS; s++) {
    e->peers[s].next_hop = -1;
    e->peers[s].nbhops = 0;
  }
  for (int i = 0; i < nu && !err; i++) {
    int d = eng_peer_slot(e, u[i].dst, 1), h = eng_peer_slot(e, u[i].hop, 1);
    if (d < 0 || h < 0) err = -ENOSPC;
    else if (d != ENG_SELF && h != ENG_SELF) e->peers[d].next_hop = (int16_t)h;
  }
  for (int i = 0; i < nb && !err; i++) {
    int o = eng_peer_slot(e, b[i].origin, 1);
    if (o < 0) {
      err = -ENOSPC;
      break;
    }
    eng_peer *p = &e->peers[o];
    p->nbhops = 0;
    for (int j = 0; j < b[i].n && p->nbhops < ENG_MAX_BHOPS; j++) {
      int h = eng_peer_slot(e, b[i].hops[j], 1);
      if (h < 0) {
        err = -ENOSPC;
        break;
      }
      if (h != ENG_SELF && h != o) p->bhops[p->nbhops++] = (uint16_t)h;
    }
  }
  pthread_rwlock_unlock(&e->cfg);
  return err;
}

int eng_claim(engine *e, const uint8_t mac[6], const uint8_t peer[6]) {
  int old, r;
  pthread_rwlock_wrlock(&e->cfg);
  int s = eng_peer_slot(e, peer, 1);
  if (s < 0) {
    pthread_rwlock_unlock(&e->cfg);
    return s;
  }
  r = mt_learn(&e->macs, mac_key(mac), (uint16_t)s, eng_now(), &old);
  eng_event ev = {0};
  if (r == 1) {
    ev.kind = EV_MAC_LEARNED;
    memcpy(ev.peer, peer, 6);
    memcpy(ev.mac, mac, 6);
    if (old >= 0) {
      ev.has_peer2 = 1;
      memcpy(ev.peer2, e->peers[old].name, 6);
    }
  }
  pthread_rwlock_unlock(&e->cfg);
  if (r == 1) push_event(e, &ev);
  if (r < 0) INC(e->st.mac_table_full);
  return r < 0 ? -ENOSPC : 0;
}

int eng_set_offload(engine *e, unsigned flags) {
  if (!e->vnet) return -EINVAL;
  return weft_tun_set_offload(e->tap_fd, flags);
}

typedef struct {
  engine *e;
  void (*cb)(void *, const uint8_t *, const uint8_t *);
  void *arg;
  int n;
} expire_ctx;

static void expire_one(void *arg, uint64_t mac, uint16_t peer) {
  expire_ctx *x = arg;
  uint8_t m[6];
  key_mac(mac, m);
  x->n++;
  if (x->cb) x->cb(x->arg, m, x->e->peers[peer].name);
}

int eng_expire_macs(engine *e, uint32_t max_age, void (*cb)(void *, const uint8_t *, const uint8_t *), void *arg) {
  expire_ctx x = {e, cb, arg, 0};
  pthread_rwlock_rdlock(&e->cfg);
  mt_remove_if(&e->macs, -1, eng_now() - max_age, expire_one, &x);
  pthread_rwlock_unlock(&e->cfg);
  return x.n;
}

typedef struct {
  engine *e;
  void (*cb)(void *, const uint8_t *, const uint8_t *, uint32_t);
  void *arg;
  uint32_t now;
} each_ctx;

static void each_one(void *arg, const mt_entry *m) {
  each_ctx *x = arg;
  uint8_t mac[6];
  key_mac(m->key & ~(1ull << 63), mac);
  x->cb(x->arg, mac, x->e->peers[m->peer].name, x->now - m->seen);
}

void eng_each_mac(engine *e, void (*cb)(void *, const uint8_t *, const uint8_t *, uint32_t), void *arg) {
  each_ctx x = {e, cb, arg, eng_now()};
  pthread_rwlock_rdlock(&e->cfg);
  mt_each(&e->macs, each_one, &x);
  pthread_rwlock_unlock(&e->cfg);
}

/* ---------- heartbeats (JS thread) ---------- */

int eng_send_heartbeat(engine *e, const uint8_t peer[6], uint8_t type, uint64_t seq, uint32_t size) {
  if (size > SLV_MAX_DGRAM) size = SLV_MAX_DGRAM;
  uint8_t *buf = calloc(1, SLV_MAX_DGRAM + 64);
  if (!buf) return -ENOMEM;
  int r = 0;
  pthread_rwlock_rdlock(&e->cfg);
  int s = eng_peer_slot(e, peer, 0);
  if (s <= 0 || !e->peers[s].direct) {
    r = -ENOENT;
  } else {
    eng_peer *p = &e->peers[s];
    size_t over = SLV_HDR + (p->encrypted ? SLV_TAG : 0);
    size_t body = size > over + HB_BODY_MIN ? size - over : HB_BODY_MIN;
    wr_be64(buf + SLV_HDR, seq);
    uint64_t ctr = atomic_fetch_add(&p->send_ctr, 1);
    pthread_mutex_lock(&e->js_lock);
    size_t len = slv_build(e->js_aead, p->encrypted ? p->send_key : NULL, p->send_key_id, type, ctr,
                           e->peers[ENG_SELF].name, p->name, buf, body);
    pthread_mutex_unlock(&e->js_lock);
    struct sockaddr_in to = p->addr;
    pthread_rwlock_unlock(&e->cfg);
    int fd = type == SLV_PMTU_PROBE && e->probe_fd >= 0 ? e->probe_fd : e->udp_fd;
    ssize_t w = sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof to);
    free(buf);
    return w < 0 ? -errno : 0;
  }
  pthread_rwlock_unlock(&e->cfg);
  free(buf);
  return r;
}

int eng_send_fastdp_heartbeat(engine *e, uint32_t ip, uint16_t port, uint32_t vni, uint64_t seq, uint32_t frame_len) {
  /* Padded to the largest frame fastdp carries: a path that drops big VXLAN
   * packets (a smaller MTU somewhere) must fail the heartbeat too. */
  if (frame_len < 14 + FASTDP_HB_PAYLOAD) frame_len = 14 + FASTDP_HB_PAYLOAD;
  if (frame_len > 9216) frame_len = 9216;
  uint8_t pkt[8 + 9216];
  size_t len = 8 + frame_len;
  memset(pkt, 0, len);
  pkt[0] = 0x08; /* VXLAN: VNI present */
  pkt[4] = (uint8_t)(vni >> 16);
  pkt[5] = (uint8_t)(vni >> 8);
  pkt[6] = (uint8_t)vni;
  uint8_t *eth = pkt + 8;
  memcpy(eth, BCAST, 6);
  memcpy(eth + 6, e->peers[ENG_SELF].name, 6);
  eth[6] &= 0xfe; /* a source MAC must be unicast */
  eth[12] = FASTDP_HB_ETHERTYPE >> 8;
  eth[13] = FASTDP_HB_ETHERTYPE & 0xff;
  uint8_t *pl = eth + 14;
  memcpy(pl, FASTDP_HB_MAGIC, 4);
  pl[4] = 1;
  memcpy(pl + 8, e->peers[ENG_SELF].name, 6);
  wr_be64(pl + 14, seq);
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = ip};
  return sendto(e->udp_fd, pkt, len, 0, (struct sockaddr *)&to, sizeof to) < 0 ? -errno : 0;
}

int eng_attach_fastdp_hb(engine *e, const char *ifname) {
  unsigned idx = if_nametoindex(ifname);
  if (!idx) return -errno;
  int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(FASTDP_HB_ETHERTYPE));
  if (fd < 0) return -errno;
  struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_protocol = htons(FASTDP_HB_ETHERTYPE), .sll_ifindex = (int)idx};
  if (bind(fd, (struct sockaddr *)&ll, sizeof ll) < 0) {
    int err = -errno;
    close(fd);
    return err;
  }
  /* Once per engine: swapping a socket under the polling receive thread is not worth its races. */
  int none = -1;
  if (!atomic_compare_exchange_strong(&e->hb_fd, &none, fd)) {
    close(fd);
    return -EALREADY;
  }
  uint64_t one = 1;
  (void)!write(e->wake_rx, &one, 8); /* the receive thread polls it from its next loop */
  return 0;
}

/* ---------- data path: shared ---------- */

#define POOL (ENG_BATCH + ENG_MAX_BHOPS)
#define MAXMSG 1024
#define MAXIOV 8192
#define MAXFH 4096
/* Worst case for one packet to one hop: 65507 / (576 - 28) pieces. */
#define FRAGS_MAX ((SLV_MAX_DGRAM + ENG_MIN_DGRAM - FRAG_HDR - 1) / (ENG_MIN_DGRAM - FRAG_HDR))

typedef struct {
  uint8_t *buf[POOL];
  int nbuf; /* buffers handed out since the last recycle (not reset by flush) */
  struct mmsghdr msg[MAXMSG];
  struct sockaddr_in to[MAXMSG];
  int16_t peer[MAXMSG];
  uint16_t ndgram[MAXMSG]; /* datagrams in the message (a GSO train carries many) */
  uint16_t seg[MAXMSG];    /* GSO segment size, 0 for a single datagram */
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } ctl[MAXMSG];
  struct iovec iov[MAXIOV];
  uint8_t fh[MAXFH][FRAG_HDR];
  int nmsg, niov, nfh;
  aead_ctx *aead;
} out_batch;

static int batch_init(out_batch *b) {
  memset(b, 0, sizeof *b);
  b->aead = aead_new();
  if (!b->aead) return -1;
  for (int i = 0; i < POOL; i++)
    if (!(b->buf[i] = malloc(ENG_BUF))) return -1;
  return 0;
}

static void batch_free(out_batch *b) {
  for (int i = 0; i < POOL; i++) free(b->buf[i]);
  aead_free(b->aead);
}

static void flush(engine *e, out_batch *b);

static struct mmsghdr *new_msg(out_batch *b, int hop, const struct sockaddr_in *to, int niov) {
  int m = b->nmsg++;
  struct mmsghdr *mh = &b->msg[m];
  memset(mh, 0, sizeof *mh);
  b->to[m] = *to;
  b->peer[m] = (int16_t)hop;
  b->ndgram[m] = 1;
  b->seg[m] = 0;
  mh->msg_hdr.msg_iov = &b->iov[b->niov];
  mh->msg_hdr.msg_iovlen = (size_t)niov;
  mh->msg_hdr.msg_name = &b->to[m];
  mh->msg_hdr.msg_namelen = sizeof b->to[m];
  return mh;
}

/* Queue a sealed packet of `total` bytes as fragments: GSO trains when the host has them. */
static void queue_fragments(engine *e, out_batch *b, eng_peer *p, int hop, uint8_t *pkt, size_t total) {
  size_t dgram = p->max_dgram, piece = dgram - FRAG_HDR;
  int nfrag = (int)((total + piece - 1) / piece);
  int per_train = atomic_load_explicit(&e->gso, RELAXED) ? (int)(SLV_MAX_DGRAM / dgram) : 1;
  if (per_train > 64) per_train = 64; /* the kernel's UDP_MAX_SEGMENTS is 64 on older kernels */
  uint32_t id = atomic_fetch_add_explicit(&p->frag_id, 1, RELAXED);
  ADD(p->st.tx_fragments, nfrag);
  for (int f = 0; f < nfrag;) {
    int k = nfrag - f < per_train ? nfrag - f : per_train;
    if (b->nmsg + 1 > MAXMSG || b->niov + 2 * k > MAXIOV || b->nfh + k > MAXFH) flush(e, b);
    struct mmsghdr *mh = new_msg(b, hop, &p->addr, 2 * k);
    int m = b->nmsg - 1;
    for (int j = 0; j < k; j++, f++) {
      size_t off = (size_t)f * piece;
      size_t n = total - off < piece ? total - off : piece;
      uint8_t *h = b->fh[b->nfh++];
      h[0] = SLV_VERSION;
      h[1] = SLV_FRAGMENT;
      h[2] = h[3] = 0;
      memcpy(h + FRAG_OFF_SENDER, e->peers[ENG_SELF].name, 6);
      memcpy(h + FRAG_OFF_RECEIVER, p->name, 6);
      wr_be32(h + FRAG_OFF_ID, id);
      wr_be32(h + FRAG_OFF_OFFSET, (uint32_t)off);
      wr_be32(h + FRAG_OFF_TOTAL, (uint32_t)total);
      b->iov[b->niov++] = (struct iovec){h, FRAG_HDR};
      b->iov[b->niov++] = (struct iovec){pkt + off, n};
    }
    b->ndgram[m] = (uint16_t)k;
    if (k > 1) {
      b->seg[m] = (uint16_t)dgram;
      mh->msg_hdr.msg_control = b->ctl[m].buf;
      mh->msg_hdr.msg_controllen = sizeof b->ctl[m].buf;
      struct cmsghdr *c = CMSG_FIRSTHDR(&mh->msg_hdr);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      uint16_t seg = (uint16_t)dgram;
      memcpy(CMSG_DATA(c), &seg, sizeof seg);
      INC(e->st.tx_gso_trains);
    }
  }
}

/*
 * Seal the body at pkt + 28 (blen bytes) for hop and queue it (fragmented if
 * larger than the hop's datagram size). Returns 1 when queued, 0 when
 * dropped. Caller holds the config read lock.
 */
static int emit(engine *e, out_batch *b, uint8_t *pkt, size_t blen, int hop) {
  eng_peer *p = &e->peers[hop];
  if (hop <= 0 || !p->used || !p->direct) {
    INC(e->st.no_route);
    return 0;
  }
  size_t total = SLV_HDR + blen + (p->encrypted ? SLV_TAG : 0);
  if (total > SLV_MAX_DGRAM) {
    INC(p->st.tx_oversize);
    return 0;
  }
  uint64_t ctr = atomic_fetch_add_explicit(&p->send_ctr, 1, RELAXED);
  slv_build(b->aead, p->encrypted ? p->send_key : NULL, p->send_key_id, SLV_FRAMES, ctr, e->peers[ENG_SELF].name,
            p->name, pkt, blen);
  if (total > p->max_dgram) {
    queue_fragments(e, b, p, hop, pkt, total);
    return 1;
  }
  if (b->nmsg + 1 > MAXMSG || b->niov + 1 > MAXIOV) flush(e, b);
  new_msg(b, hop, &p->addr, 1);
  b->iov[b->niov++] = (struct iovec){pkt, total};
  return 1;
}

/* The kernel refused a GSO train (e.g. no checksum offload on the route): send its datagrams one by one. */
static int send_singly(engine *e, struct mmsghdr *mh) {
  int sent = 0;
  for (size_t i = 0; i + 1 < mh->msg_hdr.msg_iovlen; i += 2) {
    struct msghdr one = mh->msg_hdr;
    one.msg_iov = &mh->msg_hdr.msg_iov[i];
    one.msg_iovlen = 2;
    one.msg_control = NULL;
    one.msg_controllen = 0;
    if (sendmsg(e->udp_fd, &one, 0) >= 0) sent++;
  }
  return sent;
}

/* Send the queued messages. Buffers stay valid: only the message lists are reset. */
static void flush(engine *e, out_batch *b) {
  int off = 0;
  while (off < b->nmsg) {
    int n = sendmmsg(e->udp_fd, b->msg + off, (unsigned)(b->nmsg - off), 0);
    if (n < 0) {
      int err = errno;
      if (err == EINTR) continue;
      eng_peer *p = &e->peers[b->peer[off]];
      if (b->seg[off] && (err == EIO || err == EINVAL || err == ENOPROTOOPT)) {
        atomic_store(&e->gso, 0);
        int sent = send_singly(e, &b->msg[off]);
        ADD(p->st.tx_packets, sent);
        ADD(e->st.tx_datagrams, sent);
      } else {
        /* One bad destination must not stall the rest: skip it. */
        INC(p->st.tx_errors);
        ev_error(e, err, 1);
      }
      off++;
      continue;
    }
    for (int i = off; i < off + n; i++) {
      eng_peer *p = &e->peers[b->peer[i]];
      ADD(p->st.tx_packets, b->ndgram[i]);
      ADD(p->st.tx_bytes, b->msg[i].msg_len);
      ADD(e->st.tx_datagrams, b->ndgram[i]);
    }
    off += n;
  }
  INC(e->st.tx_batches);
  b->nmsg = b->niov = b->nfh = 0;
}

/* ---------- transmit thread: TAP → UDP ---------- */

/*
 * One frame just read into b->buf[b->nbuf] (body at +28, frame at +52).
 * Decide where it goes; queue one packet per hop. Returns buffers used.
 */
static int tx_frame(engine *e, out_batch *b, size_t flen) {
  uint8_t *pkt = b->buf[b->nbuf];
  uint8_t *body = pkt + SLV_HDR;
  uint8_t *eth = body + FRM_HDR;
  if (flen < ETH_HLEN) {
    INC(e->st.bad_frame);
    return 0;
  }
  if (!e->vnet) memset(body + FRM_OFF_VNET, 0, 10);
  else if (body[FRM_OFF_VNET + 1] != 0) INC(e->st.gso_frames);
  memcpy(body + FRM_OFF_ORIGIN, e->peers[ENG_SELF].name, 6);
  body[FRM_OFF_TTL] = FRM_TTL;
  body[FRM_OFF_FLAGS] = 0;
  size_t blen = FRM_HDR + flen;

  if (!(eth[0] & 1)) {
    int d = mt_lookup(&e->macs, mac_key(eth));
    if (d > 0 && e->peers[d].used) {
      memcpy(body + FRM_OFF_DST, e->peers[d].name, 6);
      int hop = e->peers[d].next_hop;
      if (hop <= 0) {
        INC(e->st.no_route);
        return 0;
      }
      return emit(e, b, pkt, blen, hop);
    }
    /* Unknown unicast: flood it like a broadcast, flagged so the owner can claim the MAC. */
    body[FRM_OFF_FLAGS] |= FRM_F_FLOOD;
    INC(e->st.flood_frames);
  } else {
    INC(e->st.bcast_frames);
  }
  memcpy(body + FRM_OFF_DST, BCAST, 6);
  eng_peer *self = &e->peers[ENG_SELF];
  int used = 1, queued = 0;
  if (self->nbhops == 0) return 0;
  /* Copies first (sealing is in place), the original goes to the first hop last. */
  for (int i = 1; i < self->nbhops; i++) {
    uint8_t *copy = b->buf[b->nbuf + i];
    memcpy(copy + SLV_HDR, body, blen);
    queued += emit(e, b, copy, blen, self->bhops[i]);
    used = i + 1;
  }
  queued += emit(e, b, pkt, blen, self->bhops[0]);
  return queued ? used : 0;
}

static void *tx_main(void *arg) {
  engine *e = arg;
  out_batch *b = malloc(sizeof *b);
  if (!b || batch_init(b) != 0) {
    ev_error(e, ENOMEM, 2);
    return NULL;
  }
  struct pollfd pf[2] = {{.fd = e->tap_fd, .events = POLLIN}, {.fd = e->wake_tx, .events = POLLIN}};
  const size_t hdr_at = SLV_HDR + (e->vnet ? FRM_OFF_TAPHDR : FRM_HDR);
  const size_t vlen = e->vnet ? TAP_VNET_LEN : 0;
  while (!atomic_load(&e->stop)) {
    if (poll(pf, 2, 1000) < 0 && errno != EINTR) {
      ev_error(e, errno, 3);
      usleep(10000);
      continue;
    }
    if (pf[1].revents & POLLIN) {
      uint64_t v;
      (void)!read(e->wake_tx, &v, 8);
    }
    if (!(pf[0].revents & POLLIN)) continue;
    pthread_rwlock_rdlock(&e->cfg);
    while (b->nmsg < ENG_BATCH && b->nbuf + ENG_MAX_BHOPS <= POOL) {
      uint8_t *pkt = b->buf[b->nbuf];
      ssize_t r = read(e->tap_fd, pkt + hdr_at, ENG_BUF - hdr_at - SLV_TAG);
      if (r < 0) {
        if (errno != EAGAIN && errno != EINTR) ev_error(e, errno, 4);
        break;
      }
      if ((size_t)r < vlen) continue;
      size_t flen = (size_t)r - vlen;
      INC(e->st.tap_rx_frames);
      ADD(e->st.tap_rx_bytes, flen);
      b->nbuf += tx_frame(e, b, flen);
    }
    pthread_rwlock_unlock(&e->cfg);
    if (b->nmsg) flush(e, b);
    b->nbuf = 0;
  }
  batch_free(b);
  free(b);
  return NULL;
}

/* ---------- receive thread: UDP → TAP / relay ---------- */

typedef struct {
  uint8_t name[6];
  uint8_t active;
  uint32_t id, total, got;
  uint8_t *buf;
} reassembly;

typedef struct {
  uint8_t *buf[ENG_BATCH];
  struct mmsghdr msg[ENG_BATCH];
  struct iovec iov[ENG_BATCH];
  struct sockaddr_in from[ENG_BATCH];
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctl[ENG_BATCH];
  reassembly *reasm[ENG_MAX_PEERS]; /* per sending neighbour, allocated on first fragment */
  out_batch relay;
  aead_ctx *aead;
} rx_ctx;

static void deliver(engine *e, uint8_t *body, size_t flen) {
  ssize_t w;
  if (e->vnet) {
    body[FRM_OFF_TTL] = 0; /* the vnet header's num_buffers field */
    body[FRM_OFF_FLAGS] = 0;
    w = write(e->tap_fd, body + FRM_OFF_TAPHDR, TAP_VNET_LEN + flen);
  } else {
    if (body[FRM_OFF_VNET + 1] != 0) { /* a GSO frame needs a vnet header to be written */
      INC(e->st.tap_tx_errors);
      return;
    }
    w = write(e->tap_fd, body + FRM_HDR, flen);
  }
  if (w < 0) {
    INC(e->st.tap_tx_errors);
    ev_error(e, errno, 5);
    return;
  }
  INC(e->st.tap_tx_frames);
  ADD(e->st.tap_tx_bytes, flen);
}

/* A relay buffer holding a copy of body (blen bytes) at +28, or NULL when the pool is spent. */
static uint8_t *relay_copy(engine *e, rx_ctx *r, const uint8_t *body, size_t blen) {
  if (r->relay.nbuf >= POOL) {
    flush(e, &r->relay);
    r->relay.nbuf = 0; /* everything queued is sent: buffers are free again */
  }
  uint8_t *copy = r->relay.buf[r->relay.nbuf++];
  memcpy(copy + SLV_HDR, body, blen);
  return copy;
}

/*
 * A FRAMES packet, opened. `owned`: pkt lives in a receive buffer that stays
 * valid until the relay batch is flushed (so it can be re-sealed in place);
 * otherwise (a reassembly buffer) relays take a copy.
 */
static void rx_frame(engine *e, rx_ctx *r, int from, uint8_t *pkt, size_t blen, size_t room, int owned) {
  uint8_t *body = pkt + SLV_HDR;
  if (blen < FRM_HDR + ETH_HLEN || (body[FRM_OFF_FLAGS] & ~FRM_KNOWN_FLAGS)) {
    INC(e->st.bad_frame);
    return;
  }
  const uint8_t *origin = body + FRM_OFF_ORIGIN, *dst = body + FRM_OFF_DST;
  uint8_t *eth = body + FRM_HDR;
  size_t flen = blen - FRM_HDR;
  eng_peer *self = &e->peers[ENG_SELF];
  INC(e->peers[from].st.rx_frames);
  if (name_eq(origin, self->name)) {
    INC(e->st.loops);
    return;
  }
  int o = name_lookup(e, origin);
  if (o > 0) {
    if (!(eth[6] & 1)) {
      int old;
      int lr = mt_learn(&e->macs, mac_key(eth + 6), (uint16_t)o, eng_now(), &old);
      if (lr == 1) {
        eng_event ev = {0};
        ev.kind = EV_MAC_LEARNED;
        memcpy(ev.peer, origin, 6);
        memcpy(ev.mac, eth + 6, 6);
        if (old >= 0) {
          ev.has_peer2 = 1;
          memcpy(ev.peer2, e->peers[old].name, 6);
        }
        push_event(e, &ev);
      } else if (lr < 0) {
        INC(e->st.mac_table_full);
      }
    }
  } else if (rate_ok(e, mac_key(origin) ^ 0x5A5A000000000000ull)) {
    ev_peer(e, EV_UNKNOWN_PEER, origin, NULL, 0, 0, 0);
  }

  if (name_eq(dst, self->name)) {
    deliver(e, body, flen);
    return;
  }
  if (name_eq(dst, BCAST)) {
    if (o > 0 && body[FRM_OFF_TTL] > 0) {
      eng_peer *op = &e->peers[o];
      body[FRM_OFF_TTL]--;
      for (int i = 0; i < op->nbhops; i++) {
        int hop = op->bhops[i];
        if (hop == from) continue; /* never straight back */
        if (emit(e, &r->relay, relay_copy(e, r, body, blen), blen, hop)) INC(e->peers[from].st.relayed);
      }
    }
    if ((body[FRM_OFF_FLAGS] & FRM_F_FLOOD) && !(eth[0] & 1) && rate_ok(e, mac_key(eth)))
      ev_peer(e, EV_FLOOD_DELIVERED, origin, eth, 0, 0, 0);
    deliver(e, body, flen);
    return;
  }
  /* Unicast for another peer: relay toward it, re-sealed for the next hop. */
  if (body[FRM_OFF_TTL] == 0) {
    INC(e->st.ttl_expired);
    return;
  }
  int d = name_lookup(e, dst);
  int nh = d > 0 ? e->peers[d].next_hop : -1;
  if (nh <= 0 || nh == from) {
    INC(e->st.no_route);
    return;
  }
  body[FRM_OFF_TTL]--;
  size_t need = SLV_HDR + blen + (e->peers[nh].encrypted ? SLV_TAG : 0);
  uint8_t *out = owned && need <= room ? pkt : relay_copy(e, r, body, blen);
  if (emit(e, &r->relay, out, blen, nh)) INC(e->peers[from].st.relayed);
}

/* One envelope packet (a datagram, or a reassembled one); `room` = bytes usable at pkt. */
static void rx_one(engine *e, rx_ctx *r, uint8_t *pkt, size_t len, size_t room, int owned) {
  slv_hdr h;
  enum slv_err er = slv_parse(pkt, len, &h);
  if (er != SLV_OK) {
    INC(e->st.drops[er]);
    return;
  }
  eng_peer *self = &e->peers[ENG_SELF];
  if (!name_eq(h.receiver, self->name)) {
    INC(e->st.drops[SLV_E_NOT_FOR_US]);
    return;
  }
  int s = name_lookup(e, h.sender);
  if (s <= 0 || !e->peers[s].direct) {
    INC(e->st.drops[SLV_E_WRONG_SENDER]);
    return;
  }
  eng_peer *p = &e->peers[s];
  if (h.sealed != p->encrypted) {
    INC(p->st.drops[SLV_E_MODE_MISMATCH]);
    return;
  }
  size_t blen = len - SLV_HDR;
  if (h.sealed) {
    recv_session *rs = NULL;
    for (int i = 0; i < 2; i++)
      if (p->rs[i].valid && p->rs[i].key_id == h.key_id) rs = &p->rs[i];
    if (!rs) {
      INC(p->st.drops[SLV_E_UNKNOWN_KEY]);
      return;
    }
    er = slv_open_sealed(r->aead, rs->key, &rs->win, pkt, len, &h, &blen);
    if (er != SLV_OK) {
      INC(p->st.drops[er]);
      return;
    }
  }
  INC(p->st.rx_packets);
  ADD(p->st.rx_bytes, len);
  switch (h.type) {
  case SLV_FRAMES:
    rx_frame(e, r, s, pkt, blen, room, owned);
    break;
  case SLV_HEARTBEAT:
  case SLV_PMTU_PROBE:
    if (blen >= HB_BODY_MIN) {
      INC(p->st.heartbeats_rx);
      ev_peer(e, EV_HEARTBEAT, p->name, NULL, rd_be64(pkt + SLV_HDR), (uint32_t)len, h.type);
    }
    break;
  default:
    break; /* acks travel over the mesh control channel in this version */
  }
}

/*
 * A fragment: append it to its sender's reassembly (fragments of a packet
 * arrive in order, back to back: one GSO train); a gap or another packet id
 * abandons the partial packet. The complete packet is then opened like any.
 */
static void rx_fragment(engine *e, rx_ctx *r, const uint8_t *frag, size_t len, const struct sockaddr_in *from) {
  if (len <= FRAG_HDR || frag[0] != SLV_VERSION || frag[2] != 0 || frag[3] != 0) {
    INC(e->st.drops[len <= FRAG_HDR ? SLV_E_TOO_SHORT : frag[0] != SLV_VERSION ? SLV_E_BAD_VERSION : SLV_E_MALFORMED]);
    return;
  }
  if (!name_eq(frag + FRAG_OFF_RECEIVER, e->peers[ENG_SELF].name)) {
    INC(e->st.drops[SLV_E_NOT_FOR_US]);
    return;
  }
  int s = name_lookup(e, frag + FRAG_OFF_SENDER);
  /* Fragments are not authenticated until the whole packet is: only accept them from the neighbour's own address. */
  if (s <= 0 || !e->peers[s].direct || from->sin_addr.s_addr != e->peers[s].addr.sin_addr.s_addr) {
    INC(e->st.drops[SLV_E_WRONG_SENDER]);
    return;
  }
  eng_peer *p = &e->peers[s];
  uint32_t id = rd_be32(frag + FRAG_OFF_ID), off = rd_be32(frag + FRAG_OFF_OFFSET), total = rd_be32(frag + FRAG_OFF_TOTAL);
  size_t piece = len - FRAG_HDR;
  if (total < SLV_HDR || total > SLV_MAX_DGRAM || off > total || piece > total - off) {
    INC(p->st.drops[SLV_E_MALFORMED]);
    return;
  }
  INC(p->st.rx_fragments);
  reassembly *ra = r->reasm[s];
  if (!ra) {
    ra = r->reasm[s] = calloc(1, sizeof *ra);
    if (ra) ra->buf = malloc(ENG_BUF);
    if (!ra || !ra->buf) {
      if (ra) free(ra);
      r->reasm[s] = NULL;
      ev_error(e, ENOMEM, 9);
      return;
    }
  }
  if (off == 0) {
    if (ra->active) INC(p->st.reassembly_dropped);
    ra->active = 1;
    ra->id = id;
    ra->total = total;
    ra->got = 0;
    memcpy(ra->name, p->name, 6);
  } else if (!ra->active || ra->id != id || ra->total != total || ra->got != off || !name_eq(ra->name, p->name)) {
    if (ra->active) INC(p->st.reassembly_dropped);
    ra->active = 0;
    return;
  }
  memcpy(ra->buf + off, frag + FRAG_HDR, piece);
  ra->got += (uint32_t)piece;
  if (ra->got == ra->total) {
    ra->active = 0;
    INC(p->st.reassembled);
    rx_one(e, r, ra->buf, ra->total, ENG_BUF, 0);
  }
}

static void rx_datagram(engine *e, rx_ctx *r, uint8_t *pkt, size_t len, const struct sockaddr_in *from) {
  if (len >= 2 && pkt[1] == SLV_FRAGMENT) rx_fragment(e, r, pkt, len, from);
  else rx_one(e, r, pkt, len, len, 1);
}

static void rx_fastdp_hb(engine *e, int fd) {
  uint8_t buf[256];
  for (int i = 0; i < 64; i++) {
    /* Padded heartbeats are longer than the buffer: the head is all we read (MSG_TRUNC gives the size). */
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) return;
    if (n < 22 || memcmp(buf, FASTDP_HB_MAGIC, 4) != 0 || buf[4] != 1) continue;
    /* n is the full payload length (MSG_TRUNC); the reported size is the frame on the wire. */
    n += 14;
    INC(e->st.fastdp_hb_rx);
    ev_peer(e, EV_FASTDP_HEARTBEAT, buf + 8, NULL, rd_be64(buf + 14), (uint32_t)n, 0);
  }
}

/* The GRO segment size of a received message, or 0 when it holds one datagram. */
static int gro_size(struct msghdr *m) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
      int v;
      memcpy(&v, CMSG_DATA(c), sizeof v);
      return v;
    }
  }
  return 0;
}

static void rx_ctx_free(rx_ctx *r) {
  if (!r) return;
  for (int i = 0; i < ENG_BATCH; i++) free(r->buf[i]);
  for (int i = 0; i < ENG_MAX_PEERS; i++) {
    if (!r->reasm[i]) continue;
    free(r->reasm[i]->buf);
    free(r->reasm[i]);
  }
  batch_free(&r->relay);
  aead_free(r->aead);
  free(r);
}

static void *rx_main(void *arg) {
  engine *e = arg;
  rx_ctx *r = calloc(1, sizeof *r);
  if (!r || batch_init(&r->relay) != 0 || !(r->aead = aead_new())) {
    ev_error(e, ENOMEM, 6);
    rx_ctx_free(r);
    return NULL;
  }
  for (int i = 0; i < ENG_BATCH; i++) {
    r->buf[i] = malloc(ENG_BUF);
    if (!r->buf[i]) {
      ev_error(e, ENOMEM, 6);
      rx_ctx_free(r);
      return NULL;
    }
  }
  while (!atomic_load(&e->stop)) {
    int hb = atomic_load(&e->hb_fd);
    struct pollfd pf[3] = {{.fd = e->udp_fd, .events = POLLIN},
                           {.fd = e->wake_rx, .events = POLLIN},
                           {.fd = hb, .events = POLLIN}};
    if (poll(pf, hb >= 0 ? 3 : 2, 1000) < 0 && errno != EINTR) {
      ev_error(e, errno, 7);
      usleep(10000);
      continue;
    }
    if (pf[1].revents & POLLIN) {
      uint64_t v;
      (void)!read(e->wake_rx, &v, 8);
    }
    if (hb >= 0 && (pf[2].revents & POLLIN)) rx_fastdp_hb(e, hb);
    if (!(pf[0].revents & POLLIN)) continue;
    for (int i = 0; i < ENG_BATCH; i++) {
      r->iov[i].iov_base = r->buf[i];
      r->iov[i].iov_len = ENG_BUF;
      memset(&r->msg[i].msg_hdr, 0, sizeof r->msg[i].msg_hdr);
      r->msg[i].msg_hdr.msg_iov = &r->iov[i];
      r->msg[i].msg_hdr.msg_iovlen = 1;
      r->msg[i].msg_hdr.msg_name = &r->from[i];
      r->msg[i].msg_hdr.msg_namelen = sizeof r->from[i];
      r->msg[i].msg_hdr.msg_control = r->ctl[i].buf;
      r->msg[i].msg_hdr.msg_controllen = sizeof r->ctl[i].buf;
    }
    int n = recvmmsg(e->udp_fd, r->msg, ENG_BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) {
      if (n < 0 && errno != EAGAIN && errno != EINTR) ev_error(e, errno, 8);
      continue;
    }
    INC(e->st.rx_batches);
    pthread_rwlock_rdlock(&e->cfg);
    for (int i = 0; i < n; i++) {
      struct msghdr *mh = &r->msg[i].msg_hdr;
      size_t len = r->msg[i].msg_len;
      if (mh->msg_flags & MSG_TRUNC) {
        INC(e->st.drops[SLV_E_TOO_LONG]);
        continue;
      }
      int seg = gro_size(mh);
      if (seg <= 0 || (size_t)seg >= len) {
        INC(e->st.rx_datagrams);
        rx_datagram(e, r, r->buf[i], len, &r->from[i]);
        continue;
      }
      INC(e->st.rx_gro_buffers);
      for (size_t off = 0; off < len; off += (size_t)seg) {
        size_t l = len - off < (size_t)seg ? len - off : (size_t)seg;
        INC(e->st.rx_datagrams);
        rx_datagram(e, r, r->buf[i] + off, l, &r->from[i]);
      }
    }
    pthread_rwlock_unlock(&e->cfg);
    if (r->relay.nmsg) flush(e, &r->relay);
    r->relay.nbuf = 0;
  }
  rx_ctx_free(r);
  return NULL;
}
