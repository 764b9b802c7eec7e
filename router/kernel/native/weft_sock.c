/*
 * Blocking-with-deadline TCP for weft_sys: what a CNI plugin needs to call
 * the router's HTTP API without loading Node's net/stream modules (a few
 * milliseconds of every plugin call). The HTTP text is made and parsed in
 * TypeScript (cni-plugin/ipam/); these calls only move bytes:
 *
 *   tcpConnect(ipv4, port)                   -> fd   (non-blocking connect started)
 *   sockSendAll(fd, Buffer, timeoutMs)       waits for the connection, writes everything
 *   sockRecvAll(fd, timeoutMs, maxBytes)     -> Buffer of everything until the peer closes
 *
 * Every wait is a poll() bounded by the deadline (ETIMEDOUT past it), so a
 * router that is down or hangs costs at most the configured timeout. Failures
 * are thrown like Node's ("ECONNREFUSED", errno, syscall). The caller closes
 * the fd (fs.closeSync).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "weft_napi.h"
#include "weft_sock.h"

static napi_value js_tcp_connect(napi_env env, napi_callback_info info) {
  napi_value argv[2], result;
  char host[INET_ADDRSTRLEN];
  int32_t port;
  struct sockaddr_in sa = {.sin_family = AF_INET};
  int fd;
  if (!weft_get_args(env, info, 2, argv) || !weft_get_string(env, argv[0], host, sizeof host, "host") ||
      !weft_get_int(env, argv[1], &port, "port"))
    return NULL;
  if (port < 1 || port > 65535) {
    napi_throw_range_error(env, "WEFT_SYS_ARGS", "port must be 1..65535");
    return NULL;
  }
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
    napi_throw_type_error(env, "WEFT_SYS_ARGS", "host must be a dotted IPv4 address");
    return NULL;
  }
  sa.sin_port = htons((uint16_t)port);
  fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return weft_throw_errno(env, errno, "socket", NULL);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS) {
    int err = errno;
    close(fd);
    return weft_throw_errno(env, err, "connect", NULL);
  }
  WEFT_CHECK(env, napi_create_int32(env, fd, &result));
  return result;
}

int weft_sock_send_all(int fd, const char *data, size_t len, int64_t deadline) {
  size_t off = 0;
  int connected = 0;
  while (off < len || !connected) {
    short revents = 0;
    int r = weft_poll_until(fd, POLLOUT, deadline, &revents);
    if (r < 0) return r;
    if (r == 0) return -ETIMEDOUT;
    if (!connected) {
      /* The first writable (or error) event is the end of the non-blocking connect. */
      int err = 0;
      socklen_t errlen = sizeof err;
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) != 0) return -errno;
      if (err != 0) return -err;
      connected = 1;
      continue;
    }
    {
      ssize_t n = send(fd, data + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return -errno;
      }
      off += (size_t)n;
    }
  }
  return 0;
}

static napi_value js_sock_send_all(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd, timeout_ms;
  void *data;
  size_t len;
  int r;
  if (!weft_get_args(env, info, 3, argv) || !weft_get_int(env, argv[0], &fd, "fd") ||
      !weft_get_buffer(env, argv[1], &data, &len, "data") || !weft_get_int(env, argv[2], &timeout_ms, "timeoutMs"))
    return NULL;
  r = weft_sock_send_all(fd, data, len, weft_now_ms() + (timeout_ms > 0 ? timeout_ms : 0));
  return r < 0 ? weft_throw_errno(env, -r, "send", NULL) : NULL;
}

static napi_value js_sock_recv_all(napi_env env, napi_callback_info info) {
  napi_value argv[3], result;
  int32_t fd, timeout_ms, max_bytes;
  int64_t deadline;
  size_t len = 0, cap = 4096;
  char *buf;
  if (!weft_get_args(env, info, 3, argv) || !weft_get_int(env, argv[0], &fd, "fd") ||
      !weft_get_int(env, argv[1], &timeout_ms, "timeoutMs") || !weft_get_int(env, argv[2], &max_bytes, "maxBytes"))
    return NULL;
  deadline = weft_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
  buf = malloc(cap);
  if (buf == NULL) return weft_throw_errno(env, ENOMEM, "recv", NULL);
  for (;;) {
    ssize_t n;
    int r = weft_poll_until(fd, POLLIN, deadline, NULL);
    if (r <= 0) {
      free(buf);
      return weft_throw_errno(env, r == 0 ? ETIMEDOUT : -r, "recv", NULL);
    }
    if (len == cap) {
      char *bigger;
      if (cap >= (size_t)max_bytes) {
        free(buf);
        return weft_throw_errno(env, EMSGSIZE, "recv", "answer larger than allowed");
      }
      cap *= 2;
      bigger = realloc(buf, cap);
      if (bigger == NULL) {
        free(buf);
        return weft_throw_errno(env, ENOMEM, "recv", NULL);
      }
      buf = bigger;
    }
    n = recv(fd, buf + len, cap - len, MSG_DONTWAIT);
    if (n < 0) {
      int err = errno;
      if (err == EINTR || err == EAGAIN) continue;
      free(buf);
      return weft_throw_errno(env, err, "recv", NULL);
    }
    if (n == 0) break; /* the peer closed: the answer is complete */
    len += (size_t)n;
    if (len > (size_t)max_bytes) {
      free(buf);
      return weft_throw_errno(env, EMSGSIZE, "recv", "answer larger than allowed");
    }
  }
  if (napi_create_buffer_copy(env, len, buf, NULL, &result) != napi_ok) {
    free(buf);
    napi_throw_error(env, "WEFT_SYS", "could not build the answer");
    return NULL;
  }
  free(buf);
  return result;
}

int weft_sock_register(napi_env env, napi_value exports) {
  napi_property_descriptor fns[] = {
      WEFT_FN("tcpConnect", js_tcp_connect),
      WEFT_FN("sockSendAll", js_sock_send_all),
      WEFT_FN("sockRecvAll", js_sock_recv_all),
  };
  return WEFT_DEFINE(env, exports, fns);
}
