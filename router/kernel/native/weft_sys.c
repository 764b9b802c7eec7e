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
 *   nlOpen, nlRequest            synchronous netlink requests (weft_rtnl.c)
 *   tcpConnect, sockSendAll,     TCP with deadlines, for a CNI plugin's call to
 *   sockRecvAll                  the router API without node:net (weft_sock.c)
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

#include "weft_napi.h"
#include "weft_rtnl.h"
#include "weft_sock.h"
#include "weft_tun.h"

/* Newer kernels know these; older headers may not define them. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

static napi_value throw_errno(napi_env env, int err, const char *syscall_name) {
  return weft_throw_errno(env, err, syscall_name, NULL);
}

static int get_ifname(napi_env env, napi_value v, char *buf /* IFNAMSIZ */) {
  return weft_get_string(env, v, buf, IFNAMSIZ, "interface name");
}

/* Two int32 arguments, named for the error message. */
static int get_two_ints(napi_env env, napi_callback_info info, int32_t *a, const char *an, int32_t *b,
                        const char *bn) {
  napi_value argv[2];
  return weft_get_args(env, info, 2, argv) && weft_get_int(env, argv[0], a, an) && weft_get_int(env, argv[1], b, bn);
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
  if (!weft_get_args(env, info, 2, argv) || !get_ifname(env, argv[0], name) ||
      !weft_get_int(env, argv[1], &flags, "flags"))
    return NULL;
  fd = weft_tun_open(name, flags, actual);
  if (fd < 0) return throw_errno(env, -fd, "tun_open");
  WEFT_CHECK(env, napi_create_object(env, &result));
  WEFT_CHECK(env, napi_create_int32(env, fd, &fd_v));
  WEFT_CHECK(env, napi_create_string_utf8(env, actual, NAPI_AUTO_LENGTH, &name_v));
  WEFT_CHECK(env, napi_set_named_property(env, result, "fd", fd_v));
  WEFT_CHECK(env, napi_set_named_property(env, result, "name", name_v));
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
  if (!weft_get_args(env, info, 2, argv) || !weft_get_int(env, argv[0], &fd, "fd")) return NULL;
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
  if (!weft_get_args(env, info, 1, argv) || !get_ifname(env, argv[0], name)) return NULL;
  WEFT_CHECK(env, napi_create_uint32(env, if_nametoindex(name), &result));
  return result;
}

static napi_value js_gettid(napi_env env, napi_callback_info info) {
  napi_value result;
  (void)info;
  WEFT_CHECK(env, napi_create_int32(env, (int32_t)syscall(SYS_gettid), &result));
  return result;
}

static int set_const(napi_env env, napi_value obj, const char *name, int32_t value) {
  napi_value v;
  return napi_create_int32(env, value, &v) == napi_ok && napi_set_named_property(env, obj, name, v) == napi_ok;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value constants;
  napi_property_descriptor fns[] = {
      WEFT_FN("setns", js_setns),
      WEFT_FN("tunOpen", js_tun_open),
      WEFT_FN("tunSetOffload", js_tun_set_offload),
      WEFT_FN("tunSetVnetHdrSize", js_tun_set_vnet_hdr_size),
      WEFT_FN("setNonblocking", js_set_nonblocking),
      WEFT_FN("ifNameToIndex", js_if_name_to_index),
      WEFT_FN("gettid", js_gettid),
  };
  if (!WEFT_DEFINE(env, exports, fns)) {
    napi_throw_error(env, "WEFT_SYS", "could not register functions");
    return NULL;
  }
  if (!weft_rtnl_register(env, exports) || !weft_sock_register(env, exports)) {
    napi_throw_error(env, "WEFT_SYS", "could not register functions");
    return NULL;
  }
  WEFT_CHECK(env, napi_create_object(env, &constants));
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
  WEFT_CHECK(env, napi_set_named_property(env, exports, "constants", constants));
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
