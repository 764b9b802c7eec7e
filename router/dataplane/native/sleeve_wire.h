/*
 * The sleeve wire format as the native engine sees it (docs/protocol.md,
 * "Sleeve: UDP packet envelope" and "Sleeve: frames inside the envelope").
 * The envelope (28-byte header, sealing) is defined by crypto/datagram.ts, the
 * TypeScript oracle; the frame body and the heartbeat bodies by the data plane.
 *
 * Datagram layout as the engine builds it in ONE buffer, so that a frame read
 * from the TAP never moves (zero copy from TAP read to sendmmsg):
 *
 *   0            28           40              52
 *   | envelope   | origin|dst | virtio hdr(10)|ttl|flags| Ethernet frame ... | tag(16) |
 *                ^ body       ^ the TAP reads its 12-byte vnet header here,
 *                               its last 2 bytes (num_buffers) become ttl|flags
 */
#ifndef WEFT_SLEEVE_WIRE_H
#define WEFT_SLEEVE_WIRE_H

#include <stdint.h>
#include <string.h>

#define SLV_VERSION 1
#define SLV_HDR 28
#define SLV_TAG 16
#define SLV_MAX_DGRAM 65507
#define SLV_NAME 6

#define SLV_OFF_VERSION 0
#define SLV_OFF_TYPE 1
#define SLV_OFF_FLAGS 2
#define SLV_OFF_RESERVED 3
#define SLV_OFF_KEY_ID 4
#define SLV_OFF_COUNTER 8
#define SLV_OFF_SENDER 16
#define SLV_OFF_RECEIVER 22

#define SLV_FLAG_SEALED 0x01

enum slv_type {
  SLV_FRAMES = 1,
  SLV_HEARTBEAT = 2,
  SLV_HEARTBEAT_ACK = 3,
  SLV_PMTU_PROBE = 4,
  SLV_PMTU_ACK = 5,
  /* Not an envelope packet: one piece of a sealed packet larger than the path
   * MTU allows (see "Sleeve: fragments"). Same first 4 bytes, own header. */
  SLV_FRAGMENT = 6,
};

/*
 * Fragment header (28 bytes). A sealed packet too large for one datagram is
 * cut into pieces of (max datagram - 28) bytes; the next hop reassembles it
 * (in order) and then opens it like any packet, so the envelope, its AEAD and
 * its replay window are unchanged. Fragments go out as UDP GSO trains.
 *
 *   0 version | 1 type=6 | 2 flags=0 | 3 reserved=0 | 4..10 sender | 10..16 receiver
 *   16..20 packet id (BE) | 20..24 offset (BE) | 24..28 packet length (BE) | piece
 */
#define FRAG_HDR 28
#define FRAG_OFF_SENDER 4
#define FRAG_OFF_RECEIVER 10
#define FRAG_OFF_ID 16
#define FRAG_OFF_OFFSET 20
#define FRAG_OFF_TOTAL 24
/* IPv4 (20) + UDP (8): what a datagram adds on the underlay. */
#define UDP4_OVERHEAD 28

/* The frame body (plaintext of a FRAMES packet). */
#define FRM_OFF_ORIGIN 0
#define FRM_OFF_DST 6
#define FRM_OFF_VNET 12 /* 10 bytes of struct virtio_net_hdr, little-endian */
#define FRM_OFF_TTL 22
#define FRM_OFF_FLAGS 23
#define FRM_HDR 24
/* Where the TAP's 12-byte vnet header starts inside the body. */
#define FRM_OFF_TAPHDR 12
#define TAP_VNET_LEN 12

#define FRM_F_FLOOD 0x01 /* unknown unicast flooded to every peer */
#define FRM_KNOWN_FLAGS FRM_F_FLOOD
#define FRM_TTL 64

/* Heartbeat / PMTU probe body: sequence number, then zero padding to the probed size. */
#define HB_BODY_MIN 8

/* fastdp heartbeats: an Ethernet frame inside VXLAN on the heartbeat VNI. */
#define FASTDP_HB_ETHERTYPE 0x88b5 /* IEEE local experimental */
#define FASTDP_HB_MAGIC "wfhb"
#define FASTDP_HB_PAYLOAD 46 /* magic(4) version(1) pad(3) sender(6) seq(8) zero pad */

/* Errors of the receive path, in the order the checks run; the names match crypto/datagram.ts. */
enum slv_err {
  SLV_OK = 0,
  SLV_E_TOO_SHORT,
  SLV_E_TOO_LONG,
  SLV_E_BAD_VERSION,
  SLV_E_UNKNOWN_TYPE,
  SLV_E_MALFORMED,
  SLV_E_NOT_FOR_US,
  SLV_E_WRONG_SENDER,
  SLV_E_MODE_MISMATCH,
  SLV_E_UNKNOWN_KEY,
  SLV_E_REPLAYED,
  SLV_E_AUTH_FAILED,
  SLV_E_COUNT
};

extern const char *const slv_err_names[SLV_E_COUNT];

static inline uint64_t rd_be64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
  return v;
}
static inline void wr_be64(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}
static inline uint32_t rd_be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void wr_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}
static inline int name_eq(const uint8_t *a, const uint8_t *b) { return memcmp(a, b, SLV_NAME) == 0; }

#endif
