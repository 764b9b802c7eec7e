#include "envelope.h"

const char *const slv_err_names[SLV_E_COUNT] = {
    "ok",          "too-short",    "too-long",      "bad-version", "unknown-type",  "malformed",
    "not-for-us",  "wrong-sender", "mode-mismatch", "unknown-key", "replayed",      "auth-failed",
};

static int known_type(uint8_t t) { return t >= SLV_FRAMES && t <= SLV_PMTU_ACK; }

enum slv_err slv_parse(const uint8_t *pkt, size_t len, slv_hdr *h) {
  if (len < SLV_HDR) return SLV_E_TOO_SHORT;
  if (len > SLV_MAX_DGRAM) return SLV_E_TOO_LONG;
  if (pkt[SLV_OFF_VERSION] != SLV_VERSION) return SLV_E_BAD_VERSION;
  if (!known_type(pkt[SLV_OFF_TYPE])) return SLV_E_UNKNOWN_TYPE;
  uint8_t flags = pkt[SLV_OFF_FLAGS];
  if (flags & ~SLV_FLAG_SEALED) return SLV_E_MALFORMED;
  if (pkt[SLV_OFF_RESERVED] != 0) return SLV_E_MALFORMED;
  h->type = pkt[SLV_OFF_TYPE];
  h->sealed = (flags & SLV_FLAG_SEALED) != 0;
  h->key_id = rd_be32(pkt + SLV_OFF_KEY_ID);
  if (!h->sealed && h->key_id != 0) return SLV_E_MALFORMED;
  h->counter = rd_be64(pkt + SLV_OFF_COUNTER);
  h->sender = pkt + SLV_OFF_SENDER;
  h->receiver = pkt + SLV_OFF_RECEIVER;
  return SLV_OK;
}

static void nonce_of(uint8_t nonce[12], const uint8_t *pkt) {
  memset(nonce, 0, 4);
  memcpy(nonce + 4, pkt + SLV_OFF_COUNTER, 8);
}

size_t slv_build(aead_ctx *a, const uint8_t *key, uint32_t key_id, uint8_t type, uint64_t counter,
                 const uint8_t sender[6], const uint8_t receiver[6], uint8_t *pkt, size_t body_len) {
  pkt[SLV_OFF_VERSION] = SLV_VERSION;
  pkt[SLV_OFF_TYPE] = type;
  pkt[SLV_OFF_FLAGS] = key ? SLV_FLAG_SEALED : 0;
  pkt[SLV_OFF_RESERVED] = 0;
  wr_be32(pkt + SLV_OFF_KEY_ID, key ? key_id : 0);
  wr_be64(pkt + SLV_OFF_COUNTER, counter);
  memcpy(pkt + SLV_OFF_SENDER, sender, SLV_NAME);
  memcpy(pkt + SLV_OFF_RECEIVER, receiver, SLV_NAME);
  if (!key) return SLV_HDR + body_len;
  uint8_t nonce[12];
  nonce_of(nonce, pkt);
  aead_seal(a, key, nonce, pkt, SLV_HDR, pkt + SLV_HDR, body_len, pkt + SLV_HDR + body_len);
  return SLV_HDR + body_len + SLV_TAG;
}

enum slv_err slv_open_sealed(aead_ctx *a, const uint8_t key[32], replay_t *win, uint8_t *pkt, size_t len,
                             const slv_hdr *h, size_t *body_len) {
  if (len < SLV_HDR + SLV_TAG) return SLV_E_TOO_SHORT;
  if (!rw_check(win, h->counter)) return SLV_E_REPLAYED;
  uint8_t nonce[12];
  nonce_of(nonce, pkt);
  size_t n = len - SLV_HDR - SLV_TAG;
  if (aead_open(a, key, nonce, pkt, SLV_HDR, pkt + SLV_HDR, n, pkt + SLV_HDR + n) != 0) return SLV_E_AUTH_FAILED;
  if (!rw_accept(win, h->counter)) return SLV_E_REPLAYED;
  *body_len = n;
  return SLV_OK;
}
