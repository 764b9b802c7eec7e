/* Shared Node-API helpers of weft_sys (see weft_napi.h). */
#define _GNU_SOURCE
#include "weft_napi.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

napi_value weft_throw_errno(napi_env env, int err, const char *syscall_name, const char *detail) {
  const char *code = strerrorname_np(err);
  char msg[320];
  napi_value error, code_v, msg_v, errno_v, sys_v;
  if (code == NULL) code = "EUNKNOWN";
  if (detail != NULL && detail[0] != '\0')
    snprintf(msg, sizeof msg, "%s: %s (%s): %s", syscall_name, strerror(err), code, detail);
  else
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

int weft_get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, "WEFT_SYS_ARGS", "missing arguments");
    return 0;
  }
  return 1;
}

int weft_get_int(napi_env env, napi_value v, int32_t *out, const char *what) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number || napi_get_value_int32(env, v, out) != napi_ok) {
    char msg[64];
    snprintf(msg, sizeof msg, "%s must be a number", what);
    napi_throw_type_error(env, "WEFT_SYS_ARGS", msg);
    return 0;
  }
  return 1;
}

int weft_get_buffer(napi_env env, napi_value v, void **data, size_t *len, const char *what) {
  bool is_buffer = false;
  if (napi_is_buffer(env, v, &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, v, data, len) != napi_ok) {
    char msg[64];
    snprintf(msg, sizeof msg, "%s must be a Buffer", what);
    napi_throw_type_error(env, "WEFT_SYS_ARGS", msg);
    return 0;
  }
  return 1;
}

int weft_get_string(napi_env env, napi_value v, char *buf, size_t cap, const char *what) {
  size_t full = 0;
  char msg[80];
  /* Ask for the length first: napi would otherwise truncate silently. */
  if (napi_get_value_string_utf8(env, v, NULL, 0, &full) != napi_ok) {
    snprintf(msg, sizeof msg, "%s must be a string", what);
    napi_throw_type_error(env, "WEFT_SYS_ARGS", msg);
    return 0;
  }
  if (full == 0 || full >= cap) {
    snprintf(msg, sizeof msg, "%s must be 1..%zu bytes", what, cap - 1);
    napi_throw_range_error(env, "WEFT_SYS_ARGS", msg);
    return 0;
  }
  return napi_get_value_string_utf8(env, v, buf, cap, &full) == napi_ok;
}

int64_t weft_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int weft_poll_until(int fd, short events, int64_t deadline_ms, short *revents) {
  struct pollfd p = {.fd = fd, .events = events};
  for (;;) {
    int64_t left = deadline_ms - weft_now_ms();
    int r;
    if (left < 0) left = 0;
    r = poll(&p, 1, left > 0x7fffffff ? 0x7fffffff : (int)left);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -errno;
    if (r == 0) return 0;
    if (revents) *revents = p.revents;
    return 1;
  }
}
