/*
 * Netlink requests as plain C (weft_rtnl.c): the framing and the synchronous
 * exchange behind weft_sys's nlOpen/nlRequest. Functions return >= 0 on
 * success and -errno on failure.
 */
#ifndef WEFT_RTNL_H
#define WEFT_RTNL_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

/* A netlink socket of `protocol` in the calling thread's network namespace, with extended ACKs. */
int weft_nl_open(int protocol);
/* Send one request (NLM_F_REQUEST|NLM_F_ACK are added to `flags`) to the kernel. */
int weft_nl_send(int fd, uint32_t seq, uint16_t type, uint16_t flags, const void *payload, size_t len);
/* Adds nlOpen and nlRequest to the addon's exports; 0 on failure. */
int weft_rtnl_register(napi_env env, napi_value exports);

#endif
