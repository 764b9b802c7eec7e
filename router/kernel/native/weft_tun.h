/*
 * TUN/TAP device opening for weft, as plain C with no Node dependency so that
 * both native targets can use it: `weft_sys` exposes it to JavaScript, and the
 * data-plane packet engine (`weft_sleeve`) compiles weft_tun.c into itself to
 * open its queues without a round trip through JavaScript.
 *
 * Every function returns >= 0 on success and -errno on failure (never sets a
 * global), so callers can report the exact kernel error.
 */
#ifndef WEFT_TUN_H
#define WEFT_TUN_H

#ifdef __cplusplus
extern "C" {
#endif

/* Flags for weft_tun_open (our own bits, translated to IFF_* inside). */
#define WEFT_TUN_TAP 0x1        /* Ethernet frames (TAP); without it an IP-only TUN device */
#define WEFT_TUN_VNET_HDR 0x2   /* each frame is preceded by a struct virtio_net_hdr (offloads) */
#define WEFT_TUN_MULTI_QUEUE 0x4 /* one more queue of a multi-queue device per open */
#define WEFT_TUN_NONBLOCK 0x8   /* O_NONBLOCK on the returned fd */
#define WEFT_TUN_PERSIST 0x10   /* keep the device after the last fd closes (TUNSETPERSIST) */

/* Size of the virtio net header we ask for with WEFT_TUN_VNET_HDR (with num_buffers). */
#define WEFT_VNET_HDR_LEN 12

/*
 * Opens /dev/net/tun (O_RDWR | O_CLOEXEC) and attaches it to the device `name`
 * in the calling thread's network namespace, creating it if needed. Packet
 * information headers are always off (IFF_NO_PI). With WEFT_TUN_VNET_HDR the
 * header size is set to WEFT_VNET_HDR_LEN. `out_name` (at least 16 bytes)
 * receives the device's actual name. Returns the fd or -errno.
 */
int weft_tun_open(const char *name, int flags, char *out_name);

/* TUNSETOFFLOAD: which offloads (TUN_F_CSUM, TUN_F_TSO4, ...) userspace accepts on read. */
int weft_tun_set_offload(int fd, unsigned int tun_f_flags);

/* TUNSETVNETHDRSZ. */
int weft_tun_set_vnet_hdr_size(int fd, int size);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_TUN_H */
