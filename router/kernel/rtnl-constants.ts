/**
 * The rtnetlink numbers weft uses, from the kernel's uapi headers
 * (linux/rtnetlink.h, if_link.h, if_addr.h, neighbour.h, if_bridge.h). Only
 * what the adapters encode or decode; names kept as in C for grepping.
 */

// Message types.
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;
export const RTM_NEWNEIGH = 28;
export const RTM_DELNEIGH = 29;
export const RTM_GETNEIGH = 30;

// nlmsghdr flags (REQUEST and ACK are added by the socket for every request).
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;

// Address families.
export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_BRIDGE = 7;

// Device flags.
export const IFF_UP = 0x1;

// IFLA_* link attributes.
export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_MASTER = 10;
export const IFLA_OPERSTATE = 16;
export const IFLA_LINKINFO = 18;
export const IFLA_NET_NS_FD = 28;

// IFLA_LINKINFO nest.
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const IFLA_INFO_SLAVE_KIND = 4;
export const IFLA_INFO_SLAVE_DATA = 5;

// veth: the peer is a struct ifinfomsg followed by IFLA_* attributes.
export const VETH_INFO_PEER = 1;

// IFLA_VXLAN_* (inside IFLA_INFO_DATA for kind "vxlan").
export const IFLA_VXLAN_ID = 1;
export const IFLA_VXLAN_LINK = 3;
export const IFLA_VXLAN_LOCAL = 4;
export const IFLA_VXLAN_LEARNING = 7;
export const IFLA_VXLAN_PORT = 15; // network byte order

// IFLA_BRPORT_* (bridge port settings, inside IFLA_INFO_SLAVE_DATA for slave kind "bridge").
export const IFLA_BRPORT_MODE = 4; // hairpin
export const IFLA_BRPORT_LEARNING = 8;
export const IFLA_BRPORT_UNICAST_FLOOD = 9;
export const IFLA_BRPORT_MCAST_FLOOD = 27;
export const IFLA_BRPORT_BCAST_FLOOD = 30;
export const IFLA_BRPORT_ISOLATED = 33;

// IFA_* address attributes.
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_LABEL = 3;
export const IFA_BROADCAST = 4;
export const IFA_FLAGS = 8;
export const IFA_F_NOPREFIXROUTE = 0x200;

// RTA_* route attributes.
export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_PREFSRC = 7;
export const RTA_TABLE = 15;
export const RT_TABLE_COMPAT = 252;
export const RT_SCOPE_NOWHERE = 255;

export const ROUTE_SCOPES = { universe: 0, link: 253, host: 254 } as const;
export const ROUTE_TYPES = {
  unicast: 1,
  local: 2,
  broadcast: 3,
  multicast: 5,
  blackhole: 6,
  unreachable: 7,
  prohibit: 8,
} as const;

// NDA_* neighbour / FDB attributes.
export const NDA_DST = 1;
export const NDA_LLADDR = 2;
export const NDA_PORT = 6; // network byte order
export const NDA_VNI = 7;
export const NDA_MASTER = 9;

// ndm_flags / ndm_state.
export const NTF_SELF = 0x02;
export const NTF_MASTER = 0x04;
export const NTF_STICKY = 0x40;
export const NUD_INCOMPLETE = 0x01;
export const NUD_REACHABLE = 0x02;
export const NUD_STALE = 0x04;
export const NUD_DELAY = 0x08;
export const NUD_PROBE = 0x10;
export const NUD_FAILED = 0x20;
export const NUD_NOARP = 0x40;
export const NUD_PERMANENT = 0x80;

export const OPER_STATES = [
  'unknown',
  'notpresent',
  'down',
  'lowerlayerdown',
  'testing',
  'dormant',
  'up',
] as const;
