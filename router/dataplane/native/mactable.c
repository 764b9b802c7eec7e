#include "mactable.h"

#include <stdlib.h>

#define USED (1ull << 63)
#define MASK (MT_CAP - 1)

static uint32_t slot_of(uint64_t mac) {
  uint64_t h = mac * 0x9E3779B97F4A7C15ull;
  return (uint32_t)(h >> 40) & MASK;
}

int mt_init(mactable *t) {
  t->e = calloc(MT_CAP, sizeof *t->e);
  t->count = 0;
  if (!t->e) return -1;
  pthread_mutex_init(&t->lock, NULL);
  return 0;
}

void mt_destroy(mactable *t) {
  free(t->e);
  t->e = NULL;
  pthread_mutex_destroy(&t->lock);
}

static int find(mactable *t, uint64_t mac) {
  for (uint32_t i = slot_of(mac), n = 0; n < MT_CAP; i = (i + 1) & MASK, n++) {
    if (!(t->e[i].key & USED)) return -1;
    if (t->e[i].key == (mac | USED)) return (int)i;
  }
  return -1;
}

int mt_lookup(mactable *t, uint64_t mac) {
  pthread_mutex_lock(&t->lock);
  int i = find(t, mac);
  int p = i < 0 ? -1 : t->e[i].peer;
  pthread_mutex_unlock(&t->lock);
  return p;
}

int mt_learn(mactable *t, uint64_t mac, uint16_t peer, uint32_t now, int *old_peer) {
  int r;
  *old_peer = -1;
  pthread_mutex_lock(&t->lock);
  int i = find(t, mac);
  if (i >= 0) {
    t->e[i].seen = now;
    if (t->e[i].peer == peer) {
      r = 0;
    } else {
      *old_peer = t->e[i].peer;
      t->e[i].peer = peer;
      r = 1;
    }
  } else if (t->count >= MT_CAP / 4 * 3) {
    r = -1;
  } else {
    uint32_t j = slot_of(mac);
    while (t->e[j].key & USED) j = (j + 1) & MASK;
    t->e[j].key = mac | USED;
    t->e[j].peer = peer;
    t->e[j].seen = now;
    t->count++;
    r = 1;
  }
  pthread_mutex_unlock(&t->lock);
  return r;
}

/* Backward-shift deletion: move later members of the probe run into the hole. */
static void delete_at(mactable *t, uint32_t i) {
  uint32_t j = i;
  for (;;) {
    t->e[i].key = 0;
    for (;;) {
      j = (j + 1) & MASK;
      if (!(t->e[j].key & USED)) {
        t->count--;
        return;
      }
      uint32_t home = slot_of(t->e[j].key & ~USED);
      /* Can entry j move to hole i? Only if its home is not cyclically in (i, j]. */
      if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) break;
    }
    t->e[i] = t->e[j];
    i = j;
  }
}

void mt_remove_if(mactable *t, int peer, uint32_t before, void (*cb)(void *, uint64_t, uint16_t), void *arg) {
  pthread_mutex_lock(&t->lock);
  for (uint32_t i = 0; i < MT_CAP;) {
    mt_entry *e = &t->e[i];
    int match = (e->key & USED) && (peer >= 0 ? e->peer == (uint16_t)peer : (int32_t)(e->seen - before) < 0);
    if (match) {
      if (cb) cb(arg, e->key & ~USED, e->peer);
      delete_at(t, i);
      /* Re-examine slot i: another entry may have shifted into it. */
    } else {
      i++;
    }
  }
  pthread_mutex_unlock(&t->lock);
}

void mt_each(mactable *t, void (*cb)(void *, const mt_entry *), void *arg) {
  pthread_mutex_lock(&t->lock);
  for (uint32_t i = 0; i < MT_CAP; i++)
    if (t->e[i].key & USED) cb(arg, &t->e[i]);
  pthread_mutex_unlock(&t->lock);
}
