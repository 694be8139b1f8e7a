// The shapes of iproute2's JSON output (`ip -j`, `bridge -j`, iproute2 6.x) that the kernel tests
// compare weft's netlink layer against. Only the fields the tests read; iproute2 prints a field
// only when it is set, hence the optionals. Not a parser of iproute2's text output.

export interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  address?: string;
  master?: string;
  operstate?: string;
  link_netnsid?: number;
  linkinfo?: {
    info_kind?: string;
    info_data?: {
      id?: number;
      port?: number;
      local?: string;
      local6?: string;
      link?: string;
      learning?: boolean;
      gbp?: boolean;
    };
  };
}

export interface IpAddressInfo {
  family: 'inet' | 'inet6';
  local: string;
  prefixlen: number;
  scope: string;
  tentative?: boolean;
  nodad?: boolean;
}

export interface IpAddressLink extends IpLink {
  addr_info: IpAddressInfo[];
}

export interface IpNextHop {
  gateway?: string;
  dev?: string;
  weight?: number;
  flags: string[];
}

export interface IpRoute {
  type?: string;
  dst: string;
  gateway?: string;
  dev?: string;
  table?: string;
  protocol?: string;
  scope?: string;
  metric?: number;
  prefsrc?: string;
  flags: string[];
  nexthops?: IpNextHop[];
}

export interface IpNeighbour {
  dst: string;
  dev?: string;
  lladdr?: string;
  state: string[];
}

export interface BridgeFdb {
  mac: string;
  /** Absent when the query named the device. */
  ifname?: string;
  dst?: string;
  flags: string[];
  state?: string;
  master?: string;
}

/** iproute2 names protocol 87 only when /etc/iproute2/rt_protos.d says so; accept both. */
export function isWeftProtocol(protocol: string | undefined): boolean {
  return protocol === '87' || protocol === 'weft';
}
