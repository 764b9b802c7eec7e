/*
 * Small Node-API helpers shared by the C files of the weft_sys addon:
 * argument parsing that throws a TypeError/RangeError naming the argument,
 * and kernel errors thrown as Error objects shaped like Node's own fs errors
 * (`code` "EEXIST", `errno` positive number, `syscall`).
 *
 * Every helper returns 0 after throwing (the caller returns NULL at once) and
 * 1 on success.
 */
#ifndef WEFT_NAPI_H
#define WEFT_NAPI_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

#define WEFT_CHECK(env, call)                                              \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error((env), "WEFT_SYS", "Node-API call failed: " #call); \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

/* One exported function, and defining an array of them on `exports` (non-zero on success). */
#define WEFT_FN(name, cb) {(name), NULL, (cb), NULL, NULL, NULL, napi_enumerable, NULL}
#define WEFT_DEFINE(env, exports, fns) \
  (napi_define_properties((env), (exports), sizeof(fns) / sizeof((fns)[0]), (fns)) == napi_ok)

/* Throw `err` (positive errno) for `syscall_name`, with an optional detail (may be NULL). */
napi_value weft_throw_errno(napi_env env, int err, const char *syscall_name, const char *detail);
int weft_get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv);
int weft_get_int(napi_env env, napi_value v, int32_t *out, const char *what);
/* A Buffer argument: its bytes (owned by JavaScript) and length. */
int weft_get_buffer(napi_env env, napi_value v, void **data, size_t *len, const char *what);
/* A string argument that must fit `cap` bytes including the terminating NUL. */
int weft_get_string(napi_env env, napi_value v, char *buf, size_t cap, const char *what);
/* Milliseconds on CLOCK_MONOTONIC (deadlines). */
int64_t weft_now_ms(void);
/* Wait for `events` on fd until `deadline_ms` (weft_now_ms clock): 1 ready, 0 timed out, -errno. */
int weft_poll_until(int fd, short events, int64_t deadline_ms, short *revents);

#endif
