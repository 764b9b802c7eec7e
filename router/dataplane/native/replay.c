#include "replay.h"

#include <string.h>

void rw_reset(replay_t *r) { memset(r, 0, sizeof *r); }

int rw_check(const replay_t *r, uint64_t c) {
  if (!r->any || c > r->max) return 1;
  if (r->max - c >= RW_WINDOW) return 0;
  return (r->map[(c >> 6) & (RW_BLOCKS - 1)] & (1ull << (c & 63))) == 0;
}

int rw_accept(replay_t *r, uint64_t c) {
  if (!rw_check(r, c)) return 0;
  if (!r->any) {
    memset(r->map, 0, sizeof r->map);
    r->any = 1;
    r->max = c;
  } else if (c > r->max) {
    /* Clear the blocks the window slides over; a jump of a whole bitmap clears all. */
    uint64_t from = r->max >> 6, to = c >> 6;
    uint64_t passed = to - from;
    if (passed > RW_BLOCKS) passed = RW_BLOCKS;
    for (uint64_t i = 1; i <= passed; i++) r->map[(from + i) & (RW_BLOCKS - 1)] = 0;
    r->max = c;
  }
  r->map[(c >> 6) & (RW_BLOCKS - 1)] |= 1ull << (c & 63);
  return 1;
}
