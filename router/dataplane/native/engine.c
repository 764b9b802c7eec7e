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
    p->max_dgram = SLV_MAX_DGRAM;
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
  e->tap_fd = e->udp_fd = e->hb_fd = e->wake_tx = e->wake_rx = -1;
  e->notify = notify;
  e->notify_arg = notify_arg;
  e->mac_max_age = 600;
  pthread_rwlock_init(&e->cfg, NULL);
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
  setsockopt(e->udp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  set_sock_buf(e->udp_fd, SO_RCVBUFFORCE, SO_RCVBUF, cfg->rcvbuf);
  set_sock_buf(e->udp_fd, SO_SNDBUFFORCE, SO_SNDBUF, cfg->sndbuf);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(cfg->port), .sin_addr.s_addr = cfg->bind_ip};
  if (bind(e->udp_fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    *where = "bind";
    err = -errno;
    goto fail;
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
  int fds[] = {e->tap_fd, e->udp_fd, e->hb_fd, e->wake_tx, e->wake_rx};
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
  p->max_dgram = max_dgram ? max_dgram : SLV_MAX_DGRAM;
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
    ssize_t w = sendto(e->udp_fd, buf, len, 0, (struct sockaddr *)&to, sizeof to);
    free(buf);
    return w < 0 ? -errno : 0;
  }
  pthread_rwlock_unlock(&e->cfg);
  free(buf);
  return r;
}

int eng_send_fastdp_heartbeat(engine *e, uint32_t ip, uint16_t port, uint32_t vni, uint64_t seq) {
  uint8_t pkt[8 + 14 + FASTDP_HB_PAYLOAD];
  memset(pkt, 0, sizeof pkt);
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
  return sendto(e->udp_fd, pkt, sizeof pkt, 0, (struct sockaddr *)&to, sizeof to) < 0 ? -errno : 0;
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
  /* The receive thread picks the new fd up on its next wake-up. */
  int old = atomic_exchange((_Atomic int *)&e->hb_fd, fd);
  uint64_t one = 1;
  (void)!write(e->wake_rx, &one, 8);
  if (old >= 0) close(old); /* safe: the rx thread re-reads hb_fd every loop and ignores EBADF */
  return 0;
}

/* ---------- data path: shared ---------- */

#define POOL (ENG_BATCH + ENG_MAX_BHOPS)

typedef struct {
  uint8_t *buf[POOL];
  int nbuf; /* buffers handed out in this batch */
  struct mmsghdr msg[POOL + ENG_BATCH];
  struct iovec iov[POOL + ENG_BATCH];
  struct sockaddr_in to[POOL + ENG_BATCH];
  int16_t peer[POOL + ENG_BATCH];
  int nmsg;
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

/*
 * Seal the body at pkt + 28 (blen bytes) for hop and queue it. Returns 1 when
 * queued, 0 when dropped. Caller holds the config read lock.
 */
static int emit(engine *e, out_batch *b, uint8_t *pkt, size_t blen, int hop) {
  eng_peer *p = &e->peers[hop];
  if (hop <= 0 || !p->used || !p->direct) {
    INC(e->st.no_route);
    return 0;
  }
  size_t total = SLV_HDR + blen + (p->encrypted ? SLV_TAG : 0);
  if (total > p->max_dgram) {
    INC(p->st.tx_oversize);
    return 0;
  }
  uint64_t ctr = atomic_fetch_add_explicit(&p->send_ctr, 1, RELAXED);
  slv_build(b->aead, p->encrypted ? p->send_key : NULL, p->send_key_id, SLV_FRAMES, ctr, e->peers[ENG_SELF].name,
            p->name, pkt, blen);
  int m = b->nmsg++;
  b->iov[m].iov_base = pkt;
  b->iov[m].iov_len = total;
  b->to[m] = p->addr;
  b->peer[m] = (int16_t)hop;
  memset(&b->msg[m], 0, sizeof b->msg[m]);
  b->msg[m].msg_hdr.msg_iov = &b->iov[m];
  b->msg[m].msg_hdr.msg_iovlen = 1;
  b->msg[m].msg_hdr.msg_name = &b->to[m];
  b->msg[m].msg_hdr.msg_namelen = sizeof b->to[m];
  return 1;
}

/* Send the queued datagrams. Called without the config lock (sendmmsg may block). */
static void flush(engine *e, out_batch *b) {
  int off = 0;
  while (off < b->nmsg) {
    int n = sendmmsg(e->udp_fd, b->msg + off, (unsigned)(b->nmsg - off), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      /* One bad destination must not stall the rest: skip it. */
      INC(e->peers[b->peer[off]].st.tx_errors);
      ev_error(e, errno, 1);
      off++;
      continue;
    }
    for (int i = off; i < off + n; i++) {
      eng_peer *p = &e->peers[b->peer[i]];
      INC(p->st.tx_packets);
      ADD(p->st.tx_bytes, b->iov[i].iov_len);
    }
    ADD(e->st.tx_datagrams, n);
    off += n;
  }
  INC(e->st.tx_batches);
  b->nmsg = 0;
  b->nbuf = 0;
}

/* ---------- transmit thread: TAP → UDP ---------- */

/*
 * One frame just read into b->buf[b->nbuf] (body at +28, frame at +52).
 * Decide where it goes; queue one datagram per hop. Returns buffers used.
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
  int used = 0, queued = 0;
  if (self->nbhops == 0) return 0;
  /* Copies first (sealing is in place), the original goes to the first hop last. */
  for (int i = 1; i < self->nbhops; i++) {
    uint8_t *copy = b->buf[b->nbuf + i];
    memcpy(copy + SLV_HDR, body, blen);
    queued += emit(e, b, copy, blen, self->bhops[i]);
    used = i + 1;
  }
  queued += emit(e, b, pkt, blen, self->bhops[0]);
  if (used == 0) used = 1;
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
    int reads = 0;
    pthread_rwlock_rdlock(&e->cfg);
    while (b->nmsg < ENG_BATCH && b->nbuf + ENG_MAX_BHOPS <= POOL) {
      uint8_t *pkt = b->buf[b->nbuf];
      ssize_t r = read(e->tap_fd, pkt + hdr_at, ENG_BUF - hdr_at - SLV_TAG);
      if (r < 0) {
        if (errno != EAGAIN && errno != EINTR) ev_error(e, errno, 4);
        break;
      }
      reads++;
      if ((size_t)r < (e->vnet ? TAP_VNET_LEN : 0)) continue;
      size_t flen = (size_t)r - (e->vnet ? TAP_VNET_LEN : 0);
      INC(e->st.tap_rx_frames);
      ADD(e->st.tap_rx_bytes, flen);
      b->nbuf += tx_frame(e, b, flen);
    }
    pthread_rwlock_unlock(&e->cfg);
    if (b->nmsg) flush(e, b);
    else b->nbuf = 0;
    (void)reads;
  }
  batch_free(b);
  free(b);
  return NULL;
}

/* ---------- receive thread: UDP → TAP / relay ---------- */

typedef struct {
  uint8_t *buf[ENG_BATCH];
  struct mmsghdr msg[ENG_BATCH];
  struct iovec iov[ENG_BATCH];
  struct sockaddr_in from[ENG_BATCH];
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

static void rx_frame(engine *e, rx_ctx *r, int from, uint8_t *pkt, size_t blen) {
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
        if (r->relay.nbuf >= POOL) flush(e, &r->relay);
        uint8_t *copy = r->relay.buf[r->relay.nbuf];
        memcpy(copy + SLV_HDR, body, blen);
        if (emit(e, &r->relay, copy, blen, hop)) {
          r->relay.nbuf++;
          INC(e->peers[from].st.relayed);
        }
      }
    }
    if ((body[FRM_OFF_FLAGS] & FRM_F_FLOOD) && !(eth[0] & 1) && rate_ok(e, mac_key(eth)))
      ev_peer(e, EV_FLOOD_DELIVERED, origin, eth, 0, 0, 0);
    deliver(e, body, flen);
    return;
  }
  /* Unicast for another peer: relay in place toward it. */
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
  if (emit(e, &r->relay, pkt, blen, nh)) INC(e->peers[from].st.relayed);
}

static void rx_one(engine *e, rx_ctx *r, uint8_t *pkt, size_t len) {
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
    rx_frame(e, r, s, pkt, blen);
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

static void rx_fastdp_hb(engine *e, int fd) {
  uint8_t buf[256];
  for (int i = 0; i < 64; i++) {
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) return;
    if (n < 22 || memcmp(buf, FASTDP_HB_MAGIC, 4) != 0 || buf[4] != 1) continue;
    INC(e->st.fastdp_hb_rx);
    ev_peer(e, EV_FASTDP_HEARTBEAT, buf + 8, NULL, rd_be64(buf + 14), (uint32_t)n, 0);
  }
}

static void *rx_main(void *arg) {
  engine *e = arg;
  rx_ctx *r = calloc(1, sizeof *r);
  if (!r || batch_init(&r->relay) != 0 || !(r->aead = aead_new())) {
    ev_error(e, ENOMEM, 6);
    return NULL;
  }
  for (int i = 0; i < ENG_BATCH; i++) {
    r->buf[i] = malloc(ENG_BUF);
    if (!r->buf[i]) {
      ev_error(e, ENOMEM, 6);
      return NULL;
    }
  }
  while (!atomic_load(&e->stop)) {
    int hb = atomic_load((_Atomic int *)&e->hb_fd);
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
    }
    int n = recvmmsg(e->udp_fd, r->msg, ENG_BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) {
      if (n < 0 && errno != EAGAIN && errno != EINTR) ev_error(e, errno, 8);
      continue;
    }
    INC(e->st.rx_batches);
    ADD(e->st.rx_datagrams, n);
    pthread_rwlock_rdlock(&e->cfg);
    for (int i = 0; i < n; i++) {
      if (r->msg[i].msg_hdr.msg_flags & MSG_TRUNC) {
        INC(e->st.drops[SLV_E_TOO_LONG]);
        continue;
      }
      rx_one(e, r, r->buf[i], r->msg[i].msg_len);
    }
    pthread_rwlock_unlock(&e->cfg);
    if (r->relay.nmsg) flush(e, &r->relay);
    else r->relay.nbuf = 0;
  }
  for (int i = 0; i < ENG_BATCH; i++) free(r->buf[i]);
  batch_free(&r->relay);
  aead_free(r->aead);
  free(r);
  return NULL;
}
