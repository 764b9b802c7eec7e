/*
 * weft_sys: the few system calls weft's kernel adapters need that Node lacks.
 * Kept deliberately tiny; everything else (netlink, sysctl files, nft) is done
 * from TypeScript. Plain C against Node-API so that it builds with only the
 * headers that ship with Node.
 *
 *   setns(fd, nstype)            enter a namespace on the CALLING thread only
 *   tunOpen(name, flags)         -> { fd, name }   (see weft_tun.h for flags)
 *   tunSetOffload(fd, tunFlags)  TUNSETOFFLOAD
 *   tunSetVnetHdrSize(fd, size)  TUNSETVNETHDRSZ
 *   setNonblocking(fd, on)       O_NONBLOCK on/off
 *   ifNameToIndex(name)          -> index, 0 when there is no such device
 *   gettid()                     -> the calling thread's id (tests)
 *   constants                    TUN_F_*, WEFT_TUN_*, CLONE_NEWNET, vnet header length
 *
 * Errors are thrown as Error objects with `code` (e.g. "EEXIST"), `errno`
 * (positive number) and `syscall`, the shape Node's own fs errors have.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <node_api.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/if_tun.h>

#include "weft_tun.h"

/* Newer kernels know these; older headers may not define them. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

#define CHECK(env, call)                                            \
  do {                                                              \
    if ((call) != napi_ok) {                                        \
      napi_throw_error((env), "WEFT_SYS", "Node-API call failed: " #call); \
      return NULL;                                                  \
    }                                                               \
  } while (0)

static napi_value throw_errno(napi_env env, int err, const char *syscall_name) {
  const char *code = strerrorname_np(err);
  char msg[160];
  napi_value error, code_v, msg_v, errno_v, sys_v;
  if (code == NULL) code = "EUNKNOWN";
  snprintf(msg, sizeof msg, "%s: %s (%s)", syscall_name, strerror(err), code);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_v);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &msg_v);
  napi_create_error(env, code_v, msg_v, &error);
  napi_create_int32(env, err, &errno_v);
  napi_set_named_property(env, error, "errno", errno_v);
  napi_create_string_utf8(env, syscall_name, NAPI_AUTO_LENGTH, &sys_v);
  napi_set_named_property(env, error, "syscall", sys_v);
  napi_throw(env, error);
  return NULL;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, "WEFT_SYS_ARGS", "missing arguments");
    return 0;
  }
  return 1;
}

static int get_int(napi_env env, napi_value v, int32_t *out, const char *what) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    char msg[64];
    snprintf(msg, sizeof msg, "%s must be a number", what);
    napi_throw_type_error(env, "WEFT_SYS_ARGS", msg);
    return 0;
  }
  return 1;
}

static int get_ifname(napi_env env, napi_value v, char *buf /* IFNAMSIZ */) {
  size_t full = 0;
  /* Ask for the length first: napi would otherwise truncate a long name silently. */
  if (napi_get_value_string_utf8(env, v, NULL, 0, &full) != napi_ok) {
    napi_throw_type_error(env, "WEFT_SYS_ARGS", "interface name must be a string");
    return 0;
  }
  if (full == 0 || full >= IFNAMSIZ) {
    napi_throw_range_error(env, "WEFT_SYS_ARGS", "interface name must be 1..15 bytes");
    return 0;
  }
  return napi_get_value_string_utf8(env, v, buf, IFNAMSIZ, &full) == napi_ok;
}

/* Two int32 arguments, named for the error message. */
static int get_two_ints(napi_env env, napi_callback_info info, int32_t *a, const char *an, int32_t *b,
                        const char *bn) {
  napi_value argv[2];
  return get_args(env, info, 2, argv) && get_int(env, argv[0], a, an) && get_int(env, argv[1], b, bn);
}

static napi_value js_setns(napi_env env, napi_callback_info info) {
  int32_t fd, nstype;
  if (!get_two_ints(env, info, &fd, "fd", &nstype, "nstype")) return NULL;
  if (setns(fd, nstype) != 0) return throw_errno(env, errno, "setns");
  return NULL;
}

static napi_value js_tun_open(napi_env env, napi_callback_info info) {
  napi_value argv[2], result, fd_v, name_v;
  char name[IFNAMSIZ] = {0};
  char actual[IFNAMSIZ] = {0};
  int32_t flags;
  int fd;
  if (!get_args(env, info, 2, argv) || !get_ifname(env, argv[0], name) ||
      !get_int(env, argv[1], &flags, "flags"))
    return NULL;
  fd = weft_tun_open(name, flags, actual);
  if (fd < 0) return throw_errno(env, -fd, "tun_open");
  CHECK(env, napi_create_object(env, &result));
  CHECK(env, napi_create_int32(env, fd, &fd_v));
  CHECK(env, napi_create_string_utf8(env, actual, NAPI_AUTO_LENGTH, &name_v));
  CHECK(env, napi_set_named_property(env, result, "fd", fd_v));
  CHECK(env, napi_set_named_property(env, result, "name", name_v));
  return result;
}

static napi_value js_tun_set_offload(napi_env env, napi_callback_info info) {
  int32_t fd, flags;
  int r;
  if (!get_two_ints(env, info, &fd, "fd", &flags, "flags")) return NULL;
  r = weft_tun_set_offload(fd, (unsigned int)flags);
  return r < 0 ? throw_errno(env, -r, "ioctl(TUNSETOFFLOAD)") : NULL;
}

static napi_value js_tun_set_vnet_hdr_size(napi_env env, napi_callback_info info) {
  int32_t fd, size;
  int r;
  if (!get_two_ints(env, info, &fd, "fd", &size, "size")) return NULL;
  r = weft_tun_set_vnet_hdr_size(fd, size);
  return r < 0 ? throw_errno(env, -r, "ioctl(TUNSETVNETHDRSZ)") : NULL;
}

static napi_value js_set_nonblocking(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd;
  bool on;
  int fl;
  if (!get_args(env, info, 2, argv) || !get_int(env, argv[0], &fd, "fd")) return NULL;
  if (napi_get_value_bool(env, argv[1], &on) != napi_ok) {
    napi_throw_type_error(env, "WEFT_SYS_ARGS", "on must be a boolean");
    return NULL;
  }
  fl = fcntl(fd, F_GETFL);
  if (fl < 0) return throw_errno(env, errno, "fcntl(F_GETFL)");
  fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
  if (fcntl(fd, F_SETFL, fl) < 0) return throw_errno(env, errno, "fcntl(F_SETFL)");
  return NULL;
}

static napi_value js_if_name_to_index(napi_env env, napi_callback_info info) {
  napi_value argv[1], result;
  char name[IFNAMSIZ] = {0};
  if (!get_args(env, info, 1, argv) || !get_ifname(env, argv[0], name)) return NULL;
  CHECK(env, napi_create_uint32(env, if_nametoindex(name), &result));
  return result;
}

static napi_value js_gettid(napi_env env, napi_callback_info info) {
  napi_value result;
  (void)info;
  CHECK(env, napi_create_int32(env, (int32_t)syscall(SYS_gettid), &result));
  return result;
}

static int set_const(napi_env env, napi_value obj, const char *name, int32_t value) {
  napi_value v;
  return napi_create_int32(env, value, &v) == napi_ok && napi_set_named_property(env, obj, name, v) == napi_ok;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value constants;
  napi_property_descriptor fns[] = {
      {"setns", NULL, js_setns, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tunOpen", NULL, js_tun_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tunSetOffload", NULL, js_tun_set_offload, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tunSetVnetHdrSize", NULL, js_tun_set_vnet_hdr_size, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setNonblocking", NULL, js_set_nonblocking, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ifNameToIndex", NULL, js_if_name_to_index, NULL, NULL, NULL, napi_enumerable, NULL},
      {"gettid", NULL, js_gettid, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns));
  CHECK(env, napi_create_object(env, &constants));
  if (!set_const(env, constants, "CLONE_NEWNET", CLONE_NEWNET) ||
      !set_const(env, constants, "TUN_F_CSUM", TUN_F_CSUM) ||
      !set_const(env, constants, "TUN_F_TSO4", TUN_F_TSO4) ||
      !set_const(env, constants, "TUN_F_TSO6", TUN_F_TSO6) ||
      !set_const(env, constants, "TUN_F_TSO_ECN", TUN_F_TSO_ECN) ||
      !set_const(env, constants, "TUN_F_UFO", TUN_F_UFO) ||
      !set_const(env, constants, "TUN_F_USO4", TUN_F_USO4) ||
      !set_const(env, constants, "TUN_F_USO6", TUN_F_USO6) ||
      !set_const(env, constants, "WEFT_TUN_TAP", WEFT_TUN_TAP) ||
      !set_const(env, constants, "WEFT_TUN_VNET_HDR", WEFT_TUN_VNET_HDR) ||
      !set_const(env, constants, "WEFT_TUN_MULTI_QUEUE", WEFT_TUN_MULTI_QUEUE) ||
      !set_const(env, constants, "WEFT_TUN_NONBLOCK", WEFT_TUN_NONBLOCK) ||
      !set_const(env, constants, "WEFT_TUN_PERSIST", WEFT_TUN_PERSIST) ||
      !set_const(env, constants, "WEFT_VNET_HDR_LEN", WEFT_VNET_HDR_LEN)) {
    napi_throw_error(env, "WEFT_SYS", "could not create constants");
    return NULL;
  }
  CHECK(env, napi_set_named_property(env, exports, "constants", constants));
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
