/* TCP with deadlines for weft_sys (weft_sock.c). Functions return >= 0 or -errno. */
#ifndef WEFT_SOCK_H
#define WEFT_SOCK_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

/* Wait for the connection (non-blocking connect), then write all of `data`, before `deadline` (ms, monotonic). */
int weft_sock_send_all(int fd, const char *data, size_t len, int64_t deadline);
/* Adds tcpConnect, sockSendAll and sockRecvAll to the addon's exports; 0 on failure. */
int weft_sock_register(napi_env env, napi_value exports);

#endif
