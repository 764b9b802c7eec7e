/*
 * Anti-replay window over 64-bit counters: the same acceptance rule as
 * crypto/replay-window.ts (RFC 6479 style, 2048-bit bitmap, window 1984), so
 * the engine and the TS oracle accept exactly the same counters. Here the
 * bitmap is 32 blocks of 64 bits; 1984 = 2048 - 64 leaves one spare block, so
 * every counter inside the window has its own bit that no newer counter reuses.
 * Owned by one thread (the engine's receive thread); no locking inside.
 */
#ifndef WEFT_REPLAY_H
#define WEFT_REPLAY_H

#include <stdint.h>

#define RW_BLOCKS 32
#define RW_WINDOW 1984u

typedef struct {
  uint64_t map[RW_BLOCKS];
  uint64_t max; /* highest accepted counter, valid when any != 0 */
  int any;
} replay_t;

void rw_reset(replay_t *r);
/* Would c be accepted now? (no state change: run it before spending work on decryption) */
int rw_check(const replay_t *r, uint64_t c);
/* Accept c if fresh (mark it seen); 0 if replayed or too old. Call only after authentication. */
int rw_accept(replay_t *r, uint64_t c);

#endif
