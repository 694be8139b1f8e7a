// Numbers weft puts into the kernel to recognise what it owns.
//
// RTPROT_WEFT marks every route weft installs (rtm_protocol). The kernel never interprets values
// above RTPROT_STATIC (4); iproute2 reserves 8–18, 42, 99 and 186–192 for other daemons
// (/etc/iproute2/rt_protos). 87 ("W") is free there and is not used by flannel (which leaves
// routes at "boot"), Calico/Felix (80) or BIRD (12). Reconcilers list only routes with this
// protocol, so weft never modifies or deletes a route somebody else made.
// Operators can name it in iproute2 with: echo "87 weft" > /etc/iproute2/rt_protos.d/weft.conf
export const RTPROT_WEFT = 87;

export const RT_TABLE_MAIN = 254;
export const RT_TABLE_LOCAL = 255;

export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;

/** rtm_flags low byte carries RTNH_F_* next-hop flags for single-path routes. */
export const RTNH_F_ONLINK = 0x4;
export const RTNH_F_DEAD = 0x1;
export const RTNH_F_LINKDOWN = 0x10;
