/*
 * Synchronous netlink requests for weft_sys: the whole exchange (send, wait,
 * collect the replies, ACK or error) in one call, so a short-lived process (a
 * CNI plugin) configures the kernel without a JavaScript netlink library and
 * without an event-loop round trip per request. The messages themselves are
 * built and decoded in TypeScript (router/kernel/rtnl-*.ts); this file only
 * frames them with a struct nlmsghdr and sorts the answers:
 *
 *   nlOpen(protocol)                                  -> fd (in the calling thread's namespace)
 *   nlRequest(fd, seq, type, flags, payload, timeoutMs) -> Buffer[]  (reply payloads)
 *
 * nlRequest sets NLM_F_REQUEST|NLM_F_ACK. A dump (NLM_F_DUMP) ends at
 * NLMSG_DONE (the kernel sends no ACK after a dump); any other request at its
 * ACK, after the reply of a GET. A kernel error is thrown as
 * Error{code:"EEXIST",errno,syscall:"netlink"} with the kernel's extended-ACK
 * message, if any, in the text. Answers from anyone but the kernel, and
 * answers to other sequence numbers (a request that timed out earlier), are
 * skipped. The call never blocks past timeoutMs (ETIMEDOUT).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "weft_napi.h"
#include "weft_rtnl.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NLM_F_CAPPED
#define NLM_F_CAPPED 0x100
#endif
#ifndef NLM_F_ACK_TLVS
#define NLM_F_ACK_TLVS 0x200
#endif
#ifndef NLMSGERR_ATTR_MSG
#define NLMSGERR_ATTR_MSG 1
#endif

/* Largest request payload we send; rtnetlink requests are a few hundred bytes. */
#define MAX_REQUEST (64 * 1024)
/* Receive buffer to start with: the kernel sizes dump datagrams to at most 32 KiB. */
#define RECV_START (64 * 1024)

int weft_nl_open(int protocol) {
  int one = 1;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  if (fd < 0) return -errno;
  /* Best effort: older kernels lack them, and errors then simply carry no text. */
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  return fd;
}

int weft_nl_send(int fd, uint32_t seq, uint16_t type, uint16_t flags, const void *payload, size_t len) {
  struct nlmsghdr hdr = {
      .nlmsg_len = (uint32_t)(NLMSG_HDRLEN + len),
      .nlmsg_type = type,
      .nlmsg_flags = (uint16_t)(flags | NLM_F_REQUEST | NLM_F_ACK),
      .nlmsg_seq = seq,
      .nlmsg_pid = 0,
  };
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  struct iovec iov[2] = {{&hdr, NLMSG_HDRLEN}, {(void *)payload, len}};
  struct msghdr msg = {.msg_name = &kernel, .msg_namelen = sizeof kernel, .msg_iov = iov, .msg_iovlen = 2};
  if (len > MAX_REQUEST) return -EMSGSIZE;
  for (;;) {
    ssize_t n = sendmsg(fd, &msg, 0);
    if (n >= 0) return 0;
    if (errno != EINTR) return -errno;
  }
}

/* The extended-ACK text of an NLMSG_ERROR message, or NULL. */
static const char *ext_ack_message(const struct nlmsghdr *h) {
  const struct nlmsgerr *e = NLMSG_DATA(h);
  size_t off, end = h->nlmsg_len;
  if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)) return NULL;
  off = NLMSG_HDRLEN + sizeof(struct nlmsgerr);
  /* Without NLM_F_CAPPED the kernel echoes our whole request after the error. */
  if (!(h->nlmsg_flags & NLM_F_CAPPED)) off += e->msg.nlmsg_len - NLMSG_HDRLEN;
  off = NLMSG_ALIGN(off);
  while (off + NLA_HDRLEN <= end) {
    const struct nlattr *a = (const void *)((const char *)h + off);
    if (a->nla_len < NLA_HDRLEN || off + a->nla_len > end) return NULL;
    if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG && a->nla_len > NLA_HDRLEN) {
      const char *s = (const char *)a + NLA_HDRLEN;
      /* Must be NUL-terminated inside the attribute. */
      if (memchr(s, '\0', a->nla_len - NLA_HDRLEN) != NULL) return s;
      return NULL;
    }
    off += NLA_ALIGN(a->nla_len);
  }
  return NULL;
}

/* Receive one datagram from the kernel into *buf (grown as needed). Returns its length or -errno. */
static ssize_t recv_datagram(int fd, char **buf, size_t *cap, int64_t deadline) {
  for (;;) {
    struct sockaddr_nl from;
    socklen_t fromlen = sizeof from;
    ssize_t size, n;
    int r = weft_poll_until(fd, POLLIN, deadline, NULL);
    if (r < 0) return r;
    if (r == 0) return -ETIMEDOUT;
    /* Peek at the size first: a datagram larger than the buffer would be cut off. */
    size = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
    if (size < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return -errno;
    }
    if ((size_t)size > *cap) {
      char *bigger = realloc(*buf, (size_t)size);
      if (bigger == NULL) return -ENOMEM;
      *buf = bigger;
      *cap = (size_t)size;
    }
    n = recvfrom(fd, *buf, *cap, MSG_DONTWAIT, (struct sockaddr *)&from, &fromlen);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return -errno;
    }
    if (fromlen < sizeof from || from.nl_pid != 0) continue; /* only the kernel answers requests */
    return n;
  }
}

static napi_value js_nl_open(napi_env env, napi_callback_info info) {
  napi_value argv[1], result;
  int32_t protocol;
  int fd;
  if (!weft_get_args(env, info, 1, argv) || !weft_get_int(env, argv[0], &protocol, "protocol")) return NULL;
  fd = weft_nl_open(protocol);
  if (fd < 0) return weft_throw_errno(env, -fd, "socket(AF_NETLINK)", NULL);
  WEFT_CHECK(env, napi_create_int32(env, fd, &result));
  return result;
}

static napi_value js_nl_request(napi_env env, napi_callback_info info) {
  napi_value argv[6], result;
  int32_t fd, seq, type, flags, timeout_ms;
  void *payload;
  size_t len, cap = RECV_START;
  uint32_t count = 0;
  int64_t deadline;
  int r;
  char *buf;
  if (!weft_get_args(env, info, 6, argv) || !weft_get_int(env, argv[0], &fd, "fd") ||
      !weft_get_int(env, argv[1], &seq, "seq") || !weft_get_int(env, argv[2], &type, "type") ||
      !weft_get_int(env, argv[3], &flags, "flags") || !weft_get_buffer(env, argv[4], &payload, &len, "payload") ||
      !weft_get_int(env, argv[5], &timeout_ms, "timeoutMs"))
    return NULL;
  deadline = weft_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
  r = weft_nl_send(fd, (uint32_t)seq, (uint16_t)type, (uint16_t)flags, payload, len);
  if (r < 0) return weft_throw_errno(env, -r, "netlink send", NULL);
  WEFT_CHECK(env, napi_create_array(env, &result));
  buf = malloc(cap);
  if (buf == NULL) return weft_throw_errno(env, ENOMEM, "netlink recv", NULL);
  for (;;) {
    ssize_t n = recv_datagram(fd, &buf, &cap, deadline);
    struct nlmsghdr *h;
    size_t left;
    if (n < 0) {
      free(buf);
      return weft_throw_errno(env, (int)-n, "netlink recv", n == -ETIMEDOUT ? "no answer from the kernel in time" : NULL);
    }
    left = (size_t)n;
    for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != (uint32_t)seq) continue; /* an answer to an abandoned request */
      if (h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *e = NLMSG_DATA(h);
        int err;
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(int))) {
          free(buf);
          return weft_throw_errno(env, EBADMSG, "netlink recv", "short NLMSG_ERROR");
        }
        err = e->error;
        if (err == 0) goto done; /* the ACK */
        {
          char detail[256];
          const char *text = h->nlmsg_len >= NLMSG_LENGTH(sizeof *e) ? ext_ack_message(h) : NULL;
          napi_value thrown;
          snprintf(detail, sizeof detail, "%s", text ? text : "");
          free(buf);
          thrown = weft_throw_errno(env, err < 0 ? -err : err, "netlink", detail);
          return thrown;
        }
      }
      if (h->nlmsg_type == NLMSG_DONE) {
        /* A dump's DONE carries an int error (0, or -errno when the dump failed). */
        if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
          int err = *(const int *)NLMSG_DATA(h);
          if (err < 0) {
            free(buf);
            return weft_throw_errno(env, -err, "netlink", "dump failed");
          }
        }
        goto done;
      }
      if (h->nlmsg_type == NLMSG_NOOP || h->nlmsg_type == NLMSG_OVERRUN) continue;
      {
        napi_value part;
        if (napi_create_buffer_copy(env, h->nlmsg_len - NLMSG_HDRLEN, NLMSG_DATA(h), NULL, &part) != napi_ok ||
            napi_set_element(env, result, count++, part) != napi_ok) {
          free(buf);
          napi_throw_error(env, "WEFT_SYS", "could not build the reply");
          return NULL;
        }
      }
    }
  }
done:
  free(buf);
  return result;
}

int weft_rtnl_register(napi_env env, napi_value exports) {
  napi_property_descriptor fns[] = {
      WEFT_FN("nlOpen", js_nl_open),
      WEFT_FN("nlRequest", js_nl_request),
  };
  return WEFT_DEFINE(env, exports, fns);
}
