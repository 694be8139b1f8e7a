// The backend registry: which Backend implementation serves which Backend.Type of net-conf.json.
// The daemon asks here and knows no backend by name.
import { ConfigError } from '../src/config/errors.js';
import type { NetConf } from '../src/config/netconf.js';
import type { Logger } from '../src/log.js';
import type { Netlink } from '../src/netlink/index.js';
import type { Backend } from './backend.js';
import { VxlanBackend } from './vxlan/index.js';

export interface BackendDeps {
  netlink: Netlink;
  logger: Logger;
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
    case 'bgp':
      throw new ConfigError('Backend.Type', 'bgp', 'vxlan (the BGP backend is not available yet)');
  }
}
