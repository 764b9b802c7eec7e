/*
 * N-API binding of the sleeve engine (`weft_sleeve.node`). JavaScript only
 * configures and observes; see router/dataplane/sleeve-engine.ts for the typed
 * wrapper and its documentation. Test hooks (sealPacket, openPacket,
 * replaySequence, aeadBench) run the engine's own envelope code so the
 * golden vectors of crypto/testdata check the very bytes the engine produces.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <arpa/inet.h>
#include <errno.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "envelope.h"

#define CHECK(call)                                                                                                    \
  do {                                                                                                                 \
    if ((call) != napi_ok) {                                                                                           \
      napi_throw_error(env, "WEFT_NAPI", "N-API call failed: " #call);                                               \
      return NULL;                                                                                                     \
    }                                                                                                                  \
  } while (0)

typedef struct {
  engine *eng;
  napi_threadsafe_function tsfn;
} handle;

/* ---------- argument helpers (each throws a TypeError and returns 0 on failure) ---------- */

static int throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return 0;
}

static int get_string(napi_env env, napi_value v, char *out, size_t cap) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, out, cap, &len) != napi_ok) return throw_type(env, "expected a string");
  return 1;
}

static int parse_mac(const char *s, uint8_t out[6]) {
  unsigned b[6];
  char tail;
  if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
    return 0;
  for (int i = 0; i < 6; i++) out[i] = (uint8_t)b[i];
  return 1;
}

static int get_name(napi_env env, napi_value v, uint8_t out[6]) {
  char s[32];
  if (!get_string(env, v, s, sizeof s)) return 0;
  if (!parse_mac(s, out)) return throw_type(env, "expected a peer name or MAC (xx:xx:xx:xx:xx:xx)");
  return 1;
}

static void fmt_mac(const uint8_t m[6], char out[18]) {
  snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static napi_value mac_value(napi_env env, const uint8_t m[6]) {
  char s[18];
  napi_value v;
  fmt_mac(m, s);
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  return v;
}

static int has_prop(napi_env env, napi_value obj, const char *key, napi_value *out) {
  bool has = false;
  if (napi_has_named_property(env, obj, key, &has) != napi_ok || !has) return 0;
  napi_get_named_property(env, obj, key, out);
  napi_valuetype t;
  napi_typeof(env, *out, &t);
  return t != napi_undefined && t != napi_null;
}

static int prop_u32(napi_env env, napi_value obj, const char *key, uint32_t def, uint32_t *out) {
  napi_value v;
  if (!has_prop(env, obj, key, &v)) {
    *out = def;
    return 1;
  }
  if (napi_get_value_uint32(env, v, out) != napi_ok) return throw_type(env, key);
  return 1;
}

static int prop_bool(napi_env env, napi_value obj, const char *key, int def) {
  napi_value v;
  bool b;
  if (!has_prop(env, obj, key, &v)) return def;
  if (napi_get_value_bool(env, v, &b) != napi_ok) return def;
  return b;
}

static int prop_ip(napi_env env, napi_value obj, const char *key, uint32_t *out) {
  napi_value v;
  char s[64];
  if (!has_prop(env, obj, key, &v)) {
    *out = htonl(INADDR_ANY);
    return 1;
  }
  if (!get_string(env, v, s, sizeof s)) return 0;
  struct in_addr a;
  if (inet_pton(AF_INET, s, &a) != 1) return throw_type(env, "expected an IPv4 address");
  *out = a.s_addr;
  return 1;
}

/* A 32-byte key from a Uint8Array/Buffer property; *present = 0 when absent. */
static int prop_key(napi_env env, napi_value obj, const char *key, uint8_t out[32], int *present) {
  napi_value v;
  *present = 0;
  if (!has_prop(env, obj, key, &v)) return 1;
  bool is;
  napi_is_typedarray(env, v, &is);
  if (!is) return throw_type(env, "key must be a Uint8Array");
  napi_typedarray_type t;
  size_t len;
  void *data;
  napi_get_typedarray_info(env, v, &t, &len, &data, NULL, NULL);
  if (t != napi_uint8_array || len != 32) return throw_type(env, "key must be 32 bytes");
  memcpy(out, data, 32);
  *present = 1;
  return 1;
}

static int get_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  bool is;
  napi_is_typedarray(env, v, &is);
  if (!is) return throw_type(env, "expected a Uint8Array");
  napi_typedarray_type t;
  napi_get_typedarray_info(env, v, &t, len, (void **)data, NULL, NULL);
  if (t != napi_uint8_array) return throw_type(env, "expected a Uint8Array");
  return 1;
}

static int get_u64(napi_env env, napi_value v, uint64_t *out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_bigint) {
    bool lossless;
    return napi_get_value_bigint_uint64(env, v, out, &lossless) == napi_ok && lossless ? 1
                                                                                       : throw_type(env, "u64 out of range");
  }
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || d < 0) return throw_type(env, "expected a non-negative number");
  *out = (uint64_t)d;
  return 1;
}

static napi_value throw_errno(napi_env env, int err, const char *what) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err < 0 ? -err : err));
  napi_value e, code, m;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_string_utf8(env, "WEFT_SLEEVE", NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, m, &e);
  napi_value en;
  napi_create_int32(env, err < 0 ? -err : err, &en);
  napi_set_named_property(env, e, "errno", en);
  napi_throw(env, e);
  return NULL;
}

static handle *this_handle(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  handle *h = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  napi_unwrap(env, self, (void **)&h);
  if (!h || !h->eng) {
    napi_throw_error(env, "WEFT_SLEEVE_CLOSED", "the sleeve engine is closed");
    return NULL;
  }
  return h;
}

/* ---------- lifecycle ---------- */

static void notify_js(void *arg) {
  handle *h = arg;
  if (h->tsfn) napi_call_threadsafe_function(h->tsfn, NULL, napi_tsfn_nonblocking);
}

static void tsfn_call(napi_env env, napi_value cb, void *ctx, void *data) {
  if (env && cb) {
    napi_value undef;
    napi_get_undefined(env, &undef);
    napi_call_function(env, undef, cb, 0, NULL, NULL);
  }
}

static void close_handle(handle *h) {
  if (h->eng) {
    engine *e = h->eng;
    h->eng = NULL;
    eng_destroy(e); /* joins the threads: no notify can run after this */
  }
  if (h->tsfn) {
    napi_release_threadsafe_function(h->tsfn, napi_tsfn_abort);
    h->tsfn = NULL;
  }
}

static void finalize(napi_env env, void *data, void *hint) {
  handle *h = data;
  close_handle(h);
  free(h);
}

/* new Engine(opts, onEvents) */
static napi_value js_new(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  if (argc < 2) {
    throw_type(env, "new Engine(options, onEvents)");
    return NULL;
  }
  eng_config cfg;
  memset(&cfg, 0, sizeof cfg);
  napi_value v;
  char tap[32];
  if (!has_prop(env, argv[0], "tap", &v) || !get_string(env, v, tap, sizeof tap)) return NULL;
  if (!has_prop(env, argv[0], "self", &v) || !get_name(env, v, cfg.self)) return NULL;
  uint32_t port, offload, rcvbuf, sndbuf;
  if (!prop_u32(env, argv[0], "port", 6783, &port) || !prop_u32(env, argv[0], "offload", 0, &offload) ||
      !prop_u32(env, argv[0], "rcvbuf", 8 << 20, &rcvbuf) || !prop_u32(env, argv[0], "sndbuf", 4 << 20, &sndbuf) ||
      !prop_ip(env, argv[0], "bindIp", &cfg.bind_ip))
    return NULL;
  cfg.tap_name = tap;
  cfg.port = (uint16_t)port;
  cfg.offload = offload;
  cfg.vnet_hdr = prop_bool(env, argv[0], "vnetHdr", 1);
  cfg.no_gso = prop_bool(env, argv[0], "noGso", 0);
  cfg.rcvbuf = (int)rcvbuf;
  cfg.sndbuf = (int)sndbuf;

  handle *h = calloc(1, sizeof *h);
  napi_value name;
  napi_create_string_utf8(env, "weft-sleeve-events", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[1], NULL, name, 0, 1, NULL, NULL, NULL, tsfn_call, &h->tsfn) !=
      napi_ok) {
    free(h);
    napi_throw_error(env, "WEFT_NAPI", "cannot create the event callback");
    return NULL;
  }
  /* The engine must not keep the process alive by itself; its owner does. */
  napi_unref_threadsafe_function(env, h->tsfn);
  const char *where = "create";
  int r = eng_create(&h->eng, &cfg, notify_js, h, &where);
  if (r < 0) {
    napi_release_threadsafe_function(h->tsfn, napi_tsfn_abort);
    free(h);
    return throw_errno(env, r, where);
  }
  r = eng_start(h->eng);
  if (r < 0) {
    close_handle(h);
    free(h);
    return throw_errno(env, r, "start threads");
  }
  CHECK(napi_wrap(env, self, h, finalize, NULL, NULL));
  return self;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value self;
  handle *h = NULL;
  CHECK(napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  napi_unwrap(env, self, (void **)&h);
  if (h) close_handle(h);
  return NULL;
}

/* ---------- configuration ---------- */

/* setPeer(name, {ip, port, encrypted, sendKey, sendKeyId, recvKey, recvKeyId, maxDatagram}) */
static napi_value js_set_peer(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  handle *h = this_handle(env, info, &argc, argv);
  if (!h) return NULL;
  uint8_t name[6], sk[32], rk[32];
  uint32_t ip, port, skid, rkid, maxd;
  int has_sk, has_rk;
  if (argc < 2 || !get_name(env, argv[0], name) || !prop_ip(env, argv[1], "ip", &ip) ||
      !prop_u32(env, argv[1], "port", 6783, &port) || !prop_u32(env, argv[1], "sendKeyId", 0, &skid) ||
      !prop_u32(env, argv[1], "recvKeyId", 0, &rkid) || !prop_u32(env, argv[1], "maxDatagram", 0, &maxd) ||
      !prop_key(env, argv[1], "sendKey", sk, &has_sk) || !prop_key(env, argv[1], "recvKey", rk, &has_rk))
    return NULL;
  int enc = prop_bool(env, argv[1], "encrypted", 0);
  int r = eng_set_peer(h->eng, name, ip, (uint16_t)port, enc, has_sk ? sk : NULL, skid, has_rk ? rk : NULL, rkid, maxd);
  memset(sk, 0, sizeof sk);
  memset(rk, 0, sizeof rk);
  if (r < 0) return throw_errno(env, r, "setPeer");
  return NULL;
}

static napi_value name_op(napi_env env, napi_callback_info info, int (*op)(engine *, const uint8_t *)) {
  size_t argc = 1;
  napi_value argv[1], res;
  handle *h = this_handle(env, info, &argc, argv);
  uint8_t name[6];
  if (!h || argc < 1 || !get_name(env, argv[0], name)) return NULL;
  napi_get_boolean(env, op(h->eng, name) == 0, &res);
  return res;
}
static napi_value js_drop_path(napi_env env, napi_callback_info info) { return name_op(env, info, eng_drop_path); }
static napi_value js_forget_peer(napi_env env, napi_callback_info info) { return name_op(env, info, eng_forget_peer); }

/* setRoutes([[dst, hop], ...], [[origin, [hop, ...]], ...]) */
static napi_value js_set_routes(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  handle *h = this_handle(env, info, &argc, argv);
  if (!h || argc < 2) return NULL;
  uint32_t nu, nb;
  if (napi_get_array_length(env, argv[0], &nu) != napi_ok || napi_get_array_length(env, argv[1], &nb) != napi_ok) {
    throw_type(env, "setRoutes(unicast[], broadcast[])");
    return NULL;
  }
  eng_uroute *u = calloc(nu + 1, sizeof *u);
  eng_broute *b = calloc(nb + 1, sizeof *b);
  napi_value result = NULL;
  int ok = u && b;
  for (uint32_t i = 0; ok && i < nu; i++) {
    napi_value pair, d, hp;
    napi_get_element(env, argv[0], i, &pair);
    ok = napi_get_element(env, pair, 0, &d) == napi_ok && napi_get_element(env, pair, 1, &hp) == napi_ok &&
         get_name(env, d, u[i].dst) && get_name(env, hp, u[i].hop);
  }
  for (uint32_t i = 0; ok && i < nb; i++) {
    napi_value pair, o, hops;
    uint32_t n;
    napi_get_element(env, argv[1], i, &pair);
    ok = napi_get_element(env, pair, 0, &o) == napi_ok && napi_get_element(env, pair, 1, &hops) == napi_ok &&
         get_name(env, o, b[i].origin) && napi_get_array_length(env, hops, &n) == napi_ok;
    if (!ok) break;
    b[i].n = (uint16_t)(n > ENG_MAX_BHOPS ? ENG_MAX_BHOPS : n);
    b[i].hops = calloc(b[i].n + 1, 6);
    for (uint32_t j = 0; ok && j < b[i].n; j++) {
      napi_value hv;
      napi_get_element(env, hops, j, &hv);
      ok = get_name(env, hv, b[i].hops[j]);
    }
  }
  if (ok) {
    int r = eng_set_routes(h->eng, u, (int)nu, b, (int)nb);
    if (r < 0) throw_errno(env, r, "setRoutes");
  }
  for (uint32_t i = 0; b && i < nb; i++) free(b[i].hops);
  free(u);
  free(b);
  return result;
}

static napi_value js_claim(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  handle *h = this_handle(env, info, &argc, argv);
  uint8_t mac[6], peer[6];
  if (!h || argc < 2 || !get_name(env, argv[0], mac) || !get_name(env, argv[1], peer)) return NULL;
  if (mac[0] & 1) {
    throw_type(env, "only unicast MACs can be claimed");
    return NULL;
  }
  int r = eng_claim(h->eng, mac, peer);
  if (r < 0) return throw_errno(env, r, "claim");
  return NULL;
}

static napi_value js_set_offload(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  handle *h = this_handle(env, info, &argc, argv);
  uint32_t flags;
  if (!h || argc < 1 || napi_get_value_uint32(env, argv[0], &flags) != napi_ok) return NULL;
  int r = eng_set_offload(h->eng, flags);
  if (r < 0) return throw_errno(env, r, "TUNSETOFFLOAD");
  return NULL;
}

/* ---------- heartbeats ---------- */

/* sendHeartbeat(peer, type, seq, size) → boolean (false: no direct path to that peer) */
static napi_value js_send_heartbeat(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], res;
  handle *h = this_handle(env, info, &argc, argv);
  uint8_t peer[6];
  uint32_t type, size;
  uint64_t seq;
  if (!h || argc < 4 || !get_name(env, argv[0], peer) || napi_get_value_uint32(env, argv[1], &type) != napi_ok ||
      !get_u64(env, argv[2], &seq) || napi_get_value_uint32(env, argv[3], &size) != napi_ok)
    return NULL;
  if (type != SLV_HEARTBEAT && type != SLV_PMTU_PROBE) {
    throw_type(env, "heartbeat type must be HEARTBEAT or PMTU_PROBE");
    return NULL;
  }
  int r = eng_send_heartbeat(h->eng, peer, (uint8_t)type, seq, size);
  if (r < 0 && r != -ENOENT && r != -EAGAIN && r != -ENOBUFS && r != -EHOSTUNREACH && r != -ENETUNREACH &&
      r != -EPERM && r != -ECONNREFUSED)
    return throw_errno(env, r, "sendHeartbeat");
  napi_get_boolean(env, r == 0, &res);
  return res;
}

/* sendFastdpHeartbeat(ip, port, vni, seq, frameLen?) → boolean */
static napi_value js_send_fastdp_heartbeat(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], res;
  handle *h = this_handle(env, info, &argc, argv);
  char ips[64];
  uint32_t port, vni, frame_len = 0;
  uint64_t seq;
  struct in_addr a;
  if (!h || argc < 4 || !get_string(env, argv[0], ips, sizeof ips) ||
      napi_get_value_uint32(env, argv[1], &port) != napi_ok || napi_get_value_uint32(env, argv[2], &vni) != napi_ok ||
      !get_u64(env, argv[3], &seq))
    return NULL;
  if (argc >= 5 && napi_get_value_uint32(env, argv[4], &frame_len) != napi_ok) return NULL;
  if (inet_pton(AF_INET, ips, &a) != 1) {
    throw_type(env, "expected an IPv4 address");
    return NULL;
  }
  int r = eng_send_fastdp_heartbeat(h->eng, a.s_addr, (uint16_t)port, vni, seq, frame_len);
  napi_get_boolean(env, r == 0, &res);
  return res;
}

static napi_value js_attach_fastdp_hb(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  handle *h = this_handle(env, info, &argc, argv);
  char ifname[32];
  if (!h || argc < 1 || !get_string(env, argv[0], ifname, sizeof ifname)) return NULL;
  int r = eng_attach_fastdp_hb(h->eng, ifname);
  if (r < 0) return throw_errno(env, r, "attachFastdpHeartbeat");
  return NULL;
}

/* ---------- observation ---------- */

static void set_u64(napi_env env, napi_value obj, const char *key, uint64_t v) {
  napi_value n;
  napi_create_double(env, (double)v, &n);
  napi_set_named_property(env, obj, key, n);
}

static void set_str(napi_env env, napi_value obj, const char *key, const char *s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, key, v);
}

static const char *event_kind(uint8_t k) {
  switch (k) {
  case EV_MAC_LEARNED: return "mac-learned";
  case EV_FLOOD_DELIVERED: return "flood-delivered";
  case EV_HEARTBEAT: return "heartbeat";
  case EV_FASTDP_HEARTBEAT: return "fastdp-heartbeat";
  case EV_UNKNOWN_PEER: return "unknown-peer";
  default: return "error";
  }
}

static napi_value js_events(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  handle *h = this_handle(env, info, &argc, NULL);
  if (!h) return NULL;
  eng_event ev[256];
  napi_value arr;
  napi_create_array(env, &arr);
  uint32_t idx = 0;
  int n;
  while ((n = eng_drain_events(h->eng, ev, 256)) > 0) {
    for (int i = 0; i < n; i++) {
      napi_value o;
      napi_create_object(env, &o);
      set_str(env, o, "kind", event_kind(ev[i].kind));
      if (ev[i].kind == EV_ERROR) {
        set_str(env, o, "message", strerror((int)ev[i].seq));
        set_u64(env, o, "errno", ev[i].seq);
        set_u64(env, o, "where", ev[i].size);
      } else {
        napi_set_named_property(env, o, "peer", mac_value(env, ev[i].peer));
        if (ev[i].kind == EV_MAC_LEARNED || ev[i].kind == EV_FLOOD_DELIVERED)
          napi_set_named_property(env, o, "mac", mac_value(env, ev[i].mac));
        if (ev[i].has_peer2) napi_set_named_property(env, o, "previousPeer", mac_value(env, ev[i].peer2));
        if (ev[i].kind == EV_HEARTBEAT || ev[i].kind == EV_FASTDP_HEARTBEAT) {
          napi_value seq;
          napi_create_bigint_uint64(env, ev[i].seq, &seq);
          napi_set_named_property(env, o, "seq", seq);
          set_u64(env, o, "size", ev[i].size);
          if (ev[i].kind == EV_HEARTBEAT) set_u64(env, o, "type", ev[i].sub);
        }
      }
      napi_set_element(env, arr, idx++, o);
    }
  }
  return arr;
}

typedef struct {
  napi_env env;
  napi_value arr;
  uint32_t n;
} collect;

static void collect_mac(void *arg, const uint8_t *mac, const uint8_t *peer, uint32_t age) {
  collect *c = arg;
  napi_value o;
  napi_create_object(c->env, &o);
  napi_set_named_property(c->env, o, "mac", mac_value(c->env, mac));
  napi_set_named_property(c->env, o, "peer", mac_value(c->env, peer));
  set_u64(c->env, o, "ageSeconds", age);
  napi_set_element(c->env, c->arr, c->n++, o);
}

static void collect_expired(void *arg, const uint8_t *mac, const uint8_t *peer) { collect_mac(arg, mac, peer, 0); }

static napi_value js_macs(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  handle *h = this_handle(env, info, &argc, NULL);
  if (!h) return NULL;
  collect c = {env, NULL, 0};
  napi_create_array(env, &c.arr);
  eng_each_mac(h->eng, collect_mac, &c);
  return c.arr;
}

static napi_value js_expire_macs(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  handle *h = this_handle(env, info, &argc, argv);
  uint32_t age;
  if (!h || argc < 1 || napi_get_value_uint32(env, argv[0], &age) != napi_ok) return NULL;
  collect c = {env, NULL, 0};
  napi_create_array(env, &c.arr);
  eng_expire_macs(h->eng, age, collect_expired, &c);
  return c.arr;
}

#define L(x) atomic_load_explicit(&(x), memory_order_relaxed)

static void set_drops(napi_env env, napi_value obj, _Atomic uint64_t *drops) {
  napi_value d;
  napi_create_object(env, &d);
  for (int i = 1; i < SLV_E_COUNT; i++)
    if (L(drops[i])) set_u64(env, d, slv_err_names[i], L(drops[i]));
  napi_set_named_property(env, obj, "drops", d);
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  handle *h = this_handle(env, info, &argc, NULL);
  if (!h) return NULL;
  engine *e = h->eng;
  napi_value out, g, peers;
  napi_create_object(env, &out);
  napi_create_object(env, &g);
  eng_stats *s = &e->st;
#define G(f, name) set_u64(env, g, name, L(s->f))
  G(tap_rx_frames, "tapRxFrames");
  G(tap_rx_bytes, "tapRxBytes");
  G(tap_tx_frames, "tapTxFrames");
  G(tap_tx_bytes, "tapTxBytes");
  G(tap_tx_errors, "tapTxErrors");
  G(gso_frames, "gsoFrames");
  G(no_route, "noRoute");
  G(flood_frames, "floodFrames");
  G(bcast_frames, "broadcastFrames");
  G(loops, "loops");
  G(ttl_expired, "ttlExpired");
  G(bad_frame, "badFrames");
  G(mac_table_full, "macTableFull");
  G(events_dropped, "eventsDropped");
  G(rx_datagrams, "rxDatagrams");
  G(tx_datagrams, "txDatagrams");
  G(rx_batches, "rxBatches");
  G(tx_batches, "txBatches");
  napi_value gb;
  napi_get_boolean(env, atomic_load(&e->gso), &gb);
  napi_set_named_property(env, g, "gso", gb);
  napi_get_boolean(env, e->gro, &gb);
  napi_set_named_property(env, g, "gro", gb);
  G(fastdp_hb_rx, "fastdpHeartbeatsRx");
  G(rx_gro_buffers, "rxGroBuffers");
  G(tx_gso_trains, "txGsoTrains");
#undef G
  set_drops(env, g, s->drops);
  napi_set_named_property(env, out, "global", g);
  napi_create_array(env, &peers);
  uint32_t n = 0;
  pthread_rwlock_rdlock(&e->cfg);
  for (int i = 1; i < ENG_MAX_PEERS; i++) {
    eng_peer *p = &e->peers[i];
    if (!p->used) continue;
    napi_value o;
    napi_create_object(env, &o);
    napi_set_named_property(env, o, "name", mac_value(env, p->name));
    napi_value b;
    napi_get_boolean(env, p->direct, &b);
    napi_set_named_property(env, o, "direct", b);
    napi_get_boolean(env, p->encrypted, &b);
    napi_set_named_property(env, o, "encrypted", b);
    set_u64(env, o, "txPackets", L(p->st.tx_packets));
    set_u64(env, o, "txBytes", L(p->st.tx_bytes));
    set_u64(env, o, "rxPackets", L(p->st.rx_packets));
    set_u64(env, o, "rxBytes", L(p->st.rx_bytes));
    set_u64(env, o, "rxFrames", L(p->st.rx_frames));
    set_u64(env, o, "relayed", L(p->st.relayed));
    set_u64(env, o, "heartbeatsRx", L(p->st.heartbeats_rx));
    set_u64(env, o, "txOversize", L(p->st.tx_oversize));
    set_u64(env, o, "txErrors", L(p->st.tx_errors));
    set_u64(env, o, "txFragments", L(p->st.tx_fragments));
    set_u64(env, o, "rxFragments", L(p->st.rx_fragments));
    set_u64(env, o, "reassembled", L(p->st.reassembled));
    set_u64(env, o, "reassemblyDropped", L(p->st.reassembly_dropped));
    set_u64(env, o, "maxDatagram", p->max_dgram);
    set_drops(env, o, p->st.drops);
    napi_set_element(env, peers, n++, o);
  }
  pthread_rwlock_unlock(&e->cfg);
  napi_set_named_property(env, out, "peers", peers);
  return out;
}

/* ---------- test hooks: the engine's envelope code on plain buffers ---------- */

static aead_ctx *hook_aead(void) {
  static __thread aead_ctx *a;
  if (!a) a = aead_new();
  return a;
}

/* sealPacket(key|null, keyId, type, counter, sender, receiver, body) → Buffer */
static napi_value js_seal_packet(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7], res;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7) {
    throw_type(env, "sealPacket(key, keyId, type, counter, sender, receiver, body)");
    return NULL;
  }
  napi_valuetype t;
  napi_typeof(env, argv[0], &t);
  uint8_t *key = NULL, *body;
  size_t klen = 0, blen;
  uint32_t type, key_id;
  uint64_t ctr;
  uint8_t snd[6], rcv[6];
  if (t != napi_null && (!get_bytes(env, argv[0], &key, &klen) || klen != 32)) {
    throw_type(env, "key must be 32 bytes or null");
    return NULL;
  }
  if (napi_get_value_uint32(env, argv[1], &key_id) != napi_ok || napi_get_value_uint32(env, argv[2], &type) != napi_ok ||
      !get_u64(env, argv[3], &ctr) || !get_name(env, argv[4], snd) || !get_name(env, argv[5], rcv) ||
      !get_bytes(env, argv[6], &body, &blen))
    return NULL;
  if (blen + SLV_HDR + SLV_TAG > SLV_MAX_DGRAM) {
    throw_type(env, "body too large");
    return NULL;
  }
  uint8_t *pkt = calloc(1, SLV_HDR + blen + SLV_TAG);
  memcpy(pkt + SLV_HDR, body, blen);
  size_t len = slv_build(hook_aead(), key, key_id, (uint8_t)type, ctr, snd, rcv, pkt, blen);
  void *out;
  napi_create_buffer_copy(env, len, pkt, &out, &res);
  free(pkt);
  return res;
}

/*
 * openPackets(key|null, keyId, local, remote, packets[]) → [{ok, type, counter, body} | {error}]
 * One receiving session (one replay window) across the list, in the engine's receive order.
 */
static napi_value js_open_packets(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], arr;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[0], &t);
  uint8_t *key = NULL, local[6], remote[6];
  size_t klen = 0;
  uint32_t key_id, n;
  if (t != napi_null && (!get_bytes(env, argv[0], &key, &klen) || klen != 32)) {
    throw_type(env, "key must be 32 bytes or null");
    return NULL;
  }
  if (napi_get_value_uint32(env, argv[1], &key_id) != napi_ok || !get_name(env, argv[2], local) ||
      !get_name(env, argv[3], remote) || napi_get_array_length(env, argv[4], &n) != napi_ok)
    return NULL;
  replay_t win;
  rw_reset(&win);
  napi_create_array(env, &arr);
  for (uint32_t i = 0; i < n; i++) {
    napi_value pv, o;
    uint8_t *in;
    size_t len;
    napi_get_element(env, argv[4], i, &pv);
    if (!get_bytes(env, pv, &in, &len)) return NULL;
    uint8_t *pkt = malloc(len + 1);
    memcpy(pkt, in, len);
    slv_hdr h;
    size_t blen = 0;
    enum slv_err er = slv_parse(pkt, len, &h);
    if (er == SLV_OK && !name_eq(h.receiver, local)) er = SLV_E_NOT_FOR_US;
    if (er == SLV_OK && !name_eq(h.sender, remote)) er = SLV_E_WRONG_SENDER;
    if (er == SLV_OK && h.sealed != (key != NULL)) er = SLV_E_MODE_MISMATCH;
    if (er == SLV_OK && key && h.key_id != key_id) er = SLV_E_UNKNOWN_KEY;
    if (er == SLV_OK) {
      if (key) er = slv_open_sealed(hook_aead(), key, &win, pkt, len, &h, &blen);
      else blen = len - SLV_HDR;
    }
    napi_create_object(env, &o);
    napi_value b;
    napi_get_boolean(env, er == SLV_OK, &b);
    napi_set_named_property(env, o, "ok", b);
    if (er == SLV_OK) {
      napi_value body, ctr;
      void *d;
      set_u64(env, o, "type", h.type);
      napi_create_bigint_uint64(env, h.counter, &ctr);
      napi_set_named_property(env, o, "counter", ctr);
      napi_create_buffer_copy(env, blen, pkt + SLV_HDR, &d, &body);
      napi_set_named_property(env, o, "body", body);
    } else {
      set_str(env, o, "error", slv_err_names[er]);
    }
    free(pkt);
    napi_set_element(env, arr, i, o);
  }
  return arr;
}

/* replaySequence([counter...]) → [accepted...] through one window */
static napi_value js_replay_sequence(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], arr;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t n;
  if (argc < 1 || napi_get_array_length(env, argv[0], &n) != napi_ok) return NULL;
  replay_t w;
  rw_reset(&w);
  napi_create_array(env, &arr);
  for (uint32_t i = 0; i < n; i++) {
    napi_value v, b;
    uint64_t c;
    napi_get_element(env, argv[0], i, &v);
    if (!get_u64(env, v, &c)) return NULL;
    napi_get_boolean(env, rw_accept(&w, c), &b);
    napi_set_element(env, arr, i, b);
  }
  return arr;
}

static double mono(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

/* aeadBench(size, iterations) → nanoseconds per seal (the cipher the engine uses) */
static napi_value js_aead_bench(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], res;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t size, iters;
  if (argc < 2 || napi_get_value_uint32(env, argv[0], &size) != napi_ok ||
      napi_get_value_uint32(env, argv[1], &iters) != napi_ok || size > SLV_MAX_DGRAM || iters == 0)
    return NULL;
  uint8_t key[32] = {7}, nonce[12] = {0}, ad[28] = {0};
  uint8_t *buf = calloc(1, size + 16);
  aead_ctx *a = aead_new();
  double t0 = mono();
  for (uint32_t i = 0; i < iters; i++) {
    memcpy(nonce + 4, &i, 4);
    aead_seal(a, key, nonce, ad, sizeof ad, buf, size, buf + size);
  }
  double ns = (mono() - t0) / iters * 1e9;
  aead_free(a);
  free(buf);
  napi_create_double(env, ns, &res);
  return res;
}


static void count_removed(void *arg, uint64_t mac, uint16_t peer) { (*(int *)arg)++; }

/*
 * macTableRun([[op, mac, peer, time], ...]) → [result, ...] on a fresh table.
 * op 0: learn → 1 new/moved, 0 refreshed, -1 full; op 1: lookup → peer or -1;
 * op 2: remove the peer's entries → count; op 3: remove entries not seen since time → count.
 * A test hook: the model test compares it with a Map.
 */
static napi_value js_mac_table_run(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], arr;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t n;
  if (argc < 1 || napi_get_array_length(env, argv[0], &n) != napi_ok) return NULL;
  mactable t;
  if (mt_init(&t) != 0) return throw_errno(env, ENOMEM, "macTableRun");
  napi_create_array(env, &arr);
  for (uint32_t i = 0; i < n; i++) {
    napi_value op, v[4];
    uint32_t x[4];
    napi_get_element(env, argv[0], i, &op);
    for (uint32_t j = 0; j < 4; j++) {
      napi_get_element(env, op, j, &v[j]);
      if (napi_get_value_uint32(env, v[j], &x[j]) != napi_ok) x[j] = 0;
    }
    uint64_t mac = x[1];
    int r = 0, old;
    switch (x[0]) {
    case 0: r = mt_learn(&t, mac, (uint16_t)x[2], x[3], &old); break;
    case 1: r = mt_lookup(&t, mac); break;
    case 2: mt_remove_if(&t, (int)x[2], 0, count_removed, &r); break;
    default: mt_remove_if(&t, -1, x[3], count_removed, &r); break;
    }
    napi_value rv;
    napi_create_int32(env, r, &rv);
    napi_set_element(env, arr, i, rv);
  }
  mt_destroy(&t);
  return arr;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"setPeer", NULL, js_set_peer, NULL, NULL, NULL, napi_default, NULL},
      {"dropPath", NULL, js_drop_path, NULL, NULL, NULL, napi_default, NULL},
      {"forgetPeer", NULL, js_forget_peer, NULL, NULL, NULL, napi_default, NULL},
      {"setRoutes", NULL, js_set_routes, NULL, NULL, NULL, napi_default, NULL},
      {"claim", NULL, js_claim, NULL, NULL, NULL, napi_default, NULL},
      {"setOffload", NULL, js_set_offload, NULL, NULL, NULL, napi_default, NULL},
      {"sendHeartbeat", NULL, js_send_heartbeat, NULL, NULL, NULL, napi_default, NULL},
      {"sendFastdpHeartbeat", NULL, js_send_fastdp_heartbeat, NULL, NULL, NULL, napi_default, NULL},
      {"attachFastdpHeartbeat", NULL, js_attach_fastdp_hb, NULL, NULL, NULL, napi_default, NULL},
      {"events", NULL, js_events, NULL, NULL, NULL, napi_default, NULL},
      {"macs", NULL, js_macs, NULL, NULL, NULL, napi_default, NULL},
      {"expireMacs", NULL, js_expire_macs, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value cls;
  CHECK(napi_define_class(env, "SleeveEngine", NAPI_AUTO_LENGTH, js_new, NULL, sizeof methods / sizeof methods[0],
                          methods, &cls));
  CHECK(napi_set_named_property(env, exports, "SleeveEngine", cls));
  napi_property_descriptor fns[] = {
      {"sealPacket", NULL, js_seal_packet, NULL, NULL, NULL, napi_default, NULL},
      {"openPackets", NULL, js_open_packets, NULL, NULL, NULL, napi_default, NULL},
      {"replaySequence", NULL, js_replay_sequence, NULL, NULL, NULL, napi_default, NULL},
      {"aeadBench", NULL, js_aead_bench, NULL, NULL, NULL, napi_default, NULL},
      {"macTableRun", NULL, js_mac_table_run, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
