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
 *   nlUnlink(seq, type, flags, payload, ifindex, timeoutMs)  a link deletion that returns once the
 *                                                     link is unlisted (see below), in the calling
 *                                                     thread's namespace
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
#include <linux/rtnetlink.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
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

/*
 * Receive until the answer to `seq` is complete (a dump's DONE, or the ACK),
 * handing each reply payload to `on_reply` (may be NULL). Returns 0, or
 * -errno: a kernel refusal (then *refused is set and `why` holds the
 * extended-ACK text, possibly empty), or a failure to receive.
 */
typedef int (*nl_reply_fn)(void *ctx, const void *data, size_t len);

static int nl_collect(int fd, uint32_t seq, int64_t deadline, nl_reply_fn on_reply, void *ctx, int *refused,
                      char *why, size_t why_cap) {
  size_t cap = RECV_START;
  char *buf = malloc(cap);
  int result = 1; /* 1 = not finished yet */
  *refused = 0;
  why[0] = '\0';
  if (buf == NULL) return -ENOMEM;
  while (result == 1) {
    ssize_t n = recv_datagram(fd, &buf, &cap, deadline);
    struct nlmsghdr *h;
    size_t left;
    if (n < 0) {
      result = (int)n;
      break;
    }
    left = (size_t)n;
    for (h = (struct nlmsghdr *)buf; result == 1 && NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != seq) continue; /* an answer to an abandoned request */
      if (h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *e = NLMSG_DATA(h);
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(int))) {
          result = -EBADMSG;
        } else if (e->error == 0) {
          result = 0; /* the ACK */
        } else {
          const char *text = h->nlmsg_len >= NLMSG_LENGTH(sizeof *e) ? ext_ack_message(h) : NULL;
          snprintf(why, why_cap, "%s", text ? text : "");
          *refused = 1;
          result = e->error < 0 ? e->error : -e->error;
        }
      } else if (h->nlmsg_type == NLMSG_DONE) {
        /* A dump's DONE carries an int error (0, or -errno when the dump failed). */
        int err = h->nlmsg_len >= NLMSG_LENGTH(sizeof(int)) ? *(const int *)NLMSG_DATA(h) : 0;
        if (err < 0) {
          snprintf(why, why_cap, "dump failed");
          *refused = 1;
        }
        result = err < 0 ? err : 0;
      } else if (h->nlmsg_type != NLMSG_NOOP && h->nlmsg_type != NLMSG_OVERRUN && on_reply != NULL) {
        int r = on_reply(ctx, NLMSG_DATA(h), h->nlmsg_len - NLMSG_HDRLEN);
        if (r < 0) result = r;
      }
    }
  }
  free(buf);
  return result;
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

struct reply_array {
  napi_env env;
  napi_value array;
  uint32_t count;
};

static int push_reply(void *ctx, const void *data, size_t len) {
  struct reply_array *a = ctx;
  napi_value part;
  if (napi_create_buffer_copy(a->env, len, data, NULL, &part) != napi_ok ||
      napi_set_element(a->env, a->array, a->count++, part) != napi_ok)
    return -ENOMEM;
  return 0;
}

/* Throw what nl_collect (or a send) returned. */
static napi_value throw_nl(napi_env env, int r, int refused, const char *why) {
  if (refused) return weft_throw_errno(env, -r, "netlink", why);
  return weft_throw_errno(env, -r, "netlink recv", r == -ETIMEDOUT ? "no answer from the kernel in time" : NULL);
}

static napi_value js_nl_request(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  int32_t fd, seq, type, flags, timeout_ms;
  void *payload;
  size_t len;
  int r, refused;
  char why[256];
  struct reply_array replies = {.env = env};
  if (!weft_get_args(env, info, 6, argv) || !weft_get_int(env, argv[0], &fd, "fd") ||
      !weft_get_int(env, argv[1], &seq, "seq") || !weft_get_int(env, argv[2], &type, "type") ||
      !weft_get_int(env, argv[3], &flags, "flags") || !weft_get_buffer(env, argv[4], &payload, &len, "payload") ||
      !weft_get_int(env, argv[5], &timeout_ms, "timeoutMs"))
    return NULL;
  r = weft_nl_send(fd, (uint32_t)seq, (uint16_t)type, (uint16_t)flags, payload, len);
  if (r < 0) return weft_throw_errno(env, -r, "netlink send", NULL);
  WEFT_CHECK(env, napi_create_array(env, &replies.array));
  r = nl_collect(fd, (uint32_t)seq, weft_now_ms() + (timeout_ms > 0 ? timeout_ms : 0), push_reply, &replies,
                 &refused, why, sizeof why);
  return r < 0 ? throw_nl(env, r, refused, why) : replies.array;
}

/*
 * Deleting a link, without waiting for all of the kernel's clean-up.
 *
 * The kernel unlists a deleted device (and a veth's peer) at once, sends
 * RTM_DELLINK, and only then, still inside the requester's sendmsg, waits for
 * an RCU grace period before it frees the device and ACKs: ~15 ms for a veth
 * pair, most of a CNI DEL's own time. So the request is sent from a helper
 * thread, and the caller returns as soon as the kernel's RTM_DELLINK for the
 * link arrives on a socket subscribed to link events (or when the helper
 * reports the ACK or a refusal, whichever comes first). The caller's next
 * steps (a CNI DEL releases the address) overlap the grace period; the
 * process still cannot end before the helper's sendmsg returns, so nothing is
 * left running behind it.
 */
struct unlink_job {
  int sock;    /* the helper's request socket */
  int done_fd; /* eventfd: the helper has the answer */
  uint32_t seq;
  uint16_t type, flags;
  int64_t deadline;
  int result, refused;
  char why[256];
  atomic_int refs; /* the caller and the helper; the last one frees */
  size_t len;
  char payload[];
};

static void job_release(struct unlink_job *j) {
  if (atomic_fetch_sub(&j->refs, 1) != 1) return;
  close(j->sock);
  close(j->done_fd);
  free(j);
}

static void *unlink_helper(void *arg) {
  struct unlink_job *j = arg;
  uint64_t one = 1;
  int r = weft_nl_send(j->sock, j->seq, j->type, j->flags, j->payload, j->len);
  if (r == 0) r = nl_collect(j->sock, j->seq, j->deadline, NULL, NULL, &j->refused, j->why, sizeof j->why);
  j->result = r;
  while (write(j->done_fd, &one, sizeof one) < 0 && errno == EINTR) {
  }
  job_release(j);
  return NULL;
}

/*
 * 1 when a datagram of link events announces that `ifindex` left the
 * namespace. Only AF_UNSPEC counts: the bridge also sends RTM_DELLINK
 * (AF_BRIDGE) when a port merely leaves it.
 */
static int announces_deletion(const char *buf, size_t len, int32_t ifindex) {
  const struct nlmsghdr *h;
  for (h = (const struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
    const struct ifinfomsg *ifi = NLMSG_DATA(h);
    if (h->nlmsg_type == RTM_DELLINK && h->nlmsg_len >= NLMSG_LENGTH(sizeof *ifi) && ifi->ifi_family == AF_UNSPEC &&
        ifi->ifi_index == ifindex)
      return 1;
  }
  return 0;
}

/* The link-event socket, in the calling thread's namespace; -errno on failure. */
static int open_link_monitor(void) {
  struct sockaddr_nl groups = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK};
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return -errno;
  if (bind(fd, (struct sockaddr *)&groups, sizeof groups) != 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  return fd;
}

/*
 * Wait until the monitor sees the deletion of `ifindex` or the helper is
 * done: 1 unlisted (helper still busy), 0 helper done, -errno.
 */
static int wait_unlisted(int mon, int done_fd, int32_t ifindex, int64_t deadline) {
  char buf[16384];
  for (;;) {
    struct pollfd p[2] = {{.fd = done_fd, .events = POLLIN}, {.fd = mon, .events = POLLIN}};
    int64_t left = deadline - weft_now_ms();
    int r = poll(p, mon >= 0 ? 2 : 1, left < 0 ? 0 : (left > 0x7fffffff ? 0x7fffffff : (int)left));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -errno;
    if (r == 0) return -ETIMEDOUT;
    if (p[0].revents) return 0;
    if (mon >= 0 && p[1].revents) {
      ssize_t n = recv(mon, buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      /* Events lost (ENOBUFS) or a broken socket: the helper's ACK will tell. */
      if (n < 0) mon = -1;
      else if (announces_deletion(buf, (size_t)n, ifindex)) return 1;
    }
  }
}

static napi_value js_nl_unlink(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  int32_t seq, type, flags, ifindex, timeout_ms;
  void *payload;
  size_t len;
  struct unlink_job *j;
  pthread_t helper;
  pthread_attr_t attr;
  int mon, r, started;
  if (!weft_get_args(env, info, 6, argv) || !weft_get_int(env, argv[0], &seq, "seq") ||
      !weft_get_int(env, argv[1], &type, "type") || !weft_get_int(env, argv[2], &flags, "flags") ||
      !weft_get_buffer(env, argv[3], &payload, &len, "payload") || !weft_get_int(env, argv[4], &ifindex, "ifindex") ||
      !weft_get_int(env, argv[5], &timeout_ms, "timeoutMs"))
    return NULL;
  j = calloc(1, sizeof *j + len);
  if (j == NULL) return weft_throw_errno(env, ENOMEM, "netlink unlink", NULL);
  memcpy(j->payload, payload, len);
  j->len = len;
  j->seq = (uint32_t)seq;
  j->type = (uint16_t)type;
  j->flags = (uint16_t)flags;
  j->deadline = weft_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
  atomic_init(&j->refs, 2);
  /* Subscribe before the request exists, so its event cannot be missed. */
  mon = open_link_monitor();
  j->sock = weft_nl_open(NETLINK_ROUTE);
  j->done_fd = eventfd(0, EFD_CLOEXEC);
  if (mon < 0 || j->sock < 0 || j->done_fd < 0) {
    int err = mon < 0 ? -mon : j->sock < 0 ? -j->sock : errno;
    if (mon >= 0) close(mon);
    if (j->sock >= 0) close(j->sock);
    if (j->done_fd >= 0) close(j->done_fd);
    free(j);
    return weft_throw_errno(env, err, "netlink unlink", NULL);
  }
  /* The helper inherits the calling thread's namespace, like the sockets. */
  started = pthread_attr_init(&attr) == 0 && pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0 &&
            pthread_create(&helper, &attr, unlink_helper, j) == 0;
  pthread_attr_destroy(&attr);
  if (!started) unlink_helper(j); /* no thread to spare: the plain synchronous way */
  r = wait_unlisted(mon, j->done_fd, ifindex, j->deadline);
  close(mon);
  if (r == 0 && j->result < 0) {
    napi_value thrown = throw_nl(env, j->result, j->refused, j->why);
    job_release(j);
    return thrown;
  }
  job_release(j);
  if (r < 0) return throw_nl(env, r, 0, NULL);
  return NULL;
}

int weft_rtnl_register(napi_env env, napi_value exports) {
  napi_property_descriptor fns[] = {
      WEFT_FN("nlOpen", js_nl_open),
      WEFT_FN("nlRequest", js_nl_request),
      WEFT_FN("nlUnlink", js_nl_unlink),
  };
  return WEFT_DEFINE(env, exports, fns);
}
