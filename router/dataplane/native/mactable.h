/*
 * MAC address → peer slot, learned from the frames the sleeve receives (the
 * origin peer is in each frame's header) and from claims over the control
 * channel. Open addressing with linear probing and backward-shift deletion
 * (no tombstones, so lookups stay short after churn). One mutex: the transmit
 * thread looks up once per (super)frame, the receive thread learns once per
 * frame; both are far cheaper than the syscalls around them.
 */
#ifndef WEFT_MACTABLE_H
#define WEFT_MACTABLE_H

#include <pthread.h>
#include <stdint.h>

#define MT_CAP 65536 /* power of two; the table refuses to fill beyond 3/4 */

typedef struct {
  uint64_t key;   /* 48-bit MAC | (1 << 63) when used */
  uint16_t peer;  /* peer slot */
  uint32_t seen;  /* engine clock (seconds) of the last frame or claim */
} mt_entry;

typedef struct {
  pthread_mutex_t lock;
  mt_entry *e;
  uint32_t count;
} mactable;

int mt_init(mactable *t);
void mt_destroy(mactable *t);
static inline uint64_t mac_key(const uint8_t m[6]) {
  return ((uint64_t)m[0] << 40) | ((uint64_t)m[1] << 32) | ((uint64_t)m[2] << 24) | ((uint64_t)m[3] << 16) |
         ((uint64_t)m[4] << 8) | m[5];
}
static inline void key_mac(uint64_t k, uint8_t m[6]) {
  for (int i = 5; i >= 0; i--) {
    m[i] = (uint8_t)k;
    k >>= 8;
  }
}
/* Peer slot of mac, or -1. */
int mt_lookup(mactable *t, uint64_t mac);
/*
 * Record mac → peer at time now. Returns 1 when the entry is new or moved to
 * another peer (the caller reports it), 0 when only refreshed, -1 when full.
 * *old_peer receives the previous peer of a moved entry, else -1.
 */
int mt_learn(mactable *t, uint64_t mac, uint16_t peer, uint32_t now, int *old_peer);
/* Remove entries: of one peer (peer >= 0) or not seen since `before` (peer < 0). Calls cb for each. */
void mt_remove_if(mactable *t, int peer, uint32_t before, void (*cb)(void *, uint64_t, uint16_t), void *arg);
/* Visit every entry (under the lock). */
void mt_each(mactable *t, void (*cb)(void *, const mt_entry *), void *arg);

#endif
