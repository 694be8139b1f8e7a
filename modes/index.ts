// The backend registry: which Backend implementation serves which Backend.Type of net-conf.json.
// The daemon asks here and knows no backend by name.
import { ConfigError } from '../src/config/errors.js';
import type { NetConf } from '../src/config/netconf.js';
import type { Logger } from '../src/log.js';
import type { Netlink } from '../src/netlink/index.js';
import type { Backend } from './backend.js';
import { BgpBackend, resolveBgpOptions, type NodeBgpSettings } from './bgp/index.js';
import { VxlanBackend } from './vxlan/index.js';

export interface BackendDeps {
  netlink: Netlink;
  logger: Logger;
  /** This node's own BGP settings (flags, else its annotations). */
  bgpNode?: NodeBgpSettings;
}

export function createBackend(conf: NetConf, deps: BackendDeps): Backend {
  switch (conf.backend.type) {
    case 'vxlan': {
      const v = conf.backend.vxlan;
      return new VxlanBackend({
        netlink: deps.netlink,
        logger: deps.logger,
        options: { vni: v.vni, port: v.port, gbp: v.gbp, directRouting: v.directRouting, ipv6: conf.enableIPv6, ...(v.mtu !== undefined ? { mtu: v.mtu } : {}) },
      });
    }
    case 'bgp': {
      if (conf.backend.bgp.crossSubnet !== undefined) throw new ConfigError('Backend.CrossSubnet', conf.backend.bgp.crossSubnet, 'absent (CrossSubnet is not available yet)');
      const networks = [conf.network, ...(conf.ipv6Network !== undefined ? [conf.ipv6Network] : [])];
      return new BgpBackend({ netlink: deps.netlink, logger: deps.logger, options: resolveBgpOptions(conf.backend.bgp, networks, deps.bgpNode) });
    }
  }
}
