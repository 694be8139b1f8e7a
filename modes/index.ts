// The backend registry: which Backend implementation serves which Backend.Type of net-conf.json.
// The daemon asks here and knows no backend by name. Only the configured backend is loaded: the
// BGP one is ~60 modules (bgp-ts, BFD) a VXLAN node would carry for nothing.
import type { NetConf } from '../src/config/netconf.js';
import type { Logger } from '../src/log.js';
import type { Netlink } from '../src/netlink/index.js';
import type { Backend } from './backend.js';
import type { NodeBgpSettings } from './bgp/index.js';

export interface BackendDeps {
  netlink: Netlink;
  logger: Logger;
  /** This node's own BGP settings (flags, else its annotations). */
  bgpNode?: NodeBgpSettings;
}

export async function createBackend(conf: NetConf, deps: BackendDeps): Promise<Backend> {
  switch (conf.backend.type) {
    case 'vxlan': {
      const { VxlanBackend } = await import('./vxlan/index.js');
      const v = conf.backend.vxlan;
      return new VxlanBackend({
        netlink: deps.netlink,
        logger: deps.logger,
        options: { vni: v.vni, port: v.port, gbp: v.gbp, directRouting: v.directRouting, ipv6: conf.enableIPv6, ...(v.mtu !== undefined ? { mtu: v.mtu } : {}) },
      });
    }
    case 'bgp': {
      const { BgpBackend, CrossSubnetBackend, resolveBgpOptions } = await import('./bgp/index.js');
      const networks = [conf.network, ...(conf.ipv6Network !== undefined ? [conf.ipv6Network] : [])];
      const options = resolveBgpOptions(conf.backend.bgp, networks, deps.bgpNode);
      if (options.crossSubnet === 'vxlan') {
        // The overlay for off-segment nodes BGP cannot route: Backend.VNI/Port/MTU/GBP as for vxlan.
        const v = conf.backend.vxlan;
        return new CrossSubnetBackend({ netlink: deps.netlink, logger: deps.logger, bgp: options, vxlan: { vni: v.vni, port: v.port, gbp: v.gbp, ipv6: conf.enableIPv6, ...(v.mtu !== undefined ? { mtu: v.mtu } : {}) } });
      }
      return new BgpBackend({ netlink: deps.netlink, logger: deps.logger, options });
    }
  }
}
