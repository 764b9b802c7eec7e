/* See weft_tun.h. */
#include "weft_tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int weft_tun_open(const char *name, int flags, char *out_name) {
  struct ifreq ifr;
  int fd;
  int oflags = O_RDWR | O_CLOEXEC;

  if (name == NULL || strlen(name) >= IFNAMSIZ) return -EINVAL;
  if (flags & WEFT_TUN_NONBLOCK) oflags |= O_NONBLOCK;

  fd = open("/dev/net/tun", oflags);
  if (fd < 0) return -errno;

  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_NO_PI;
  ifr.ifr_flags |= (flags & WEFT_TUN_TAP) ? IFF_TAP : IFF_TUN;
  if (flags & WEFT_TUN_VNET_HDR) ifr.ifr_flags |= IFF_VNET_HDR;
  if (flags & WEFT_TUN_MULTI_QUEUE) ifr.ifr_flags |= IFF_MULTI_QUEUE;

  if (ioctl(fd, TUNSETIFF, &ifr) < 0) goto fail;
  if (flags & WEFT_TUN_VNET_HDR) {
    int size = WEFT_VNET_HDR_LEN;
    if (ioctl(fd, TUNSETVNETHDRSZ, &size) < 0) goto fail;
  }
  if ((flags & WEFT_TUN_PERSIST) && ioctl(fd, TUNSETPERSIST, 1) < 0) goto fail;

  if (out_name != NULL) {
    memcpy(out_name, ifr.ifr_name, IFNAMSIZ);
    out_name[IFNAMSIZ - 1] = '\0';
  }
  return fd;

fail: {
  int e = errno;
  close(fd);
  return -e;
}
}

int weft_tun_set_offload(int fd, unsigned int tun_f_flags) {
  return ioctl(fd, TUNSETOFFLOAD, (unsigned long)tun_f_flags) < 0 ? -errno : 0;
}

int weft_tun_set_vnet_hdr_size(int fd, int size) {
  return ioctl(fd, TUNSETVNETHDRSZ, &size) < 0 ? -errno : 0;
}
