// VxlanOverlay: one address family of the VXLAN backend — its device (flannel.<VNI> or
// flannel-v6.<VNI>), the device's VTEP address, and one level-triggered pass over the remote nodes:
// repair the device, learn which nodes are directly reachable (DirectRouting), dump what the kernel
// has, diff against what the nodes want, write the difference.
//
// What it is not: the Backend (backend.ts combines one or two of these and reports per node).
import { parseIp, type Family } from '../../src/net/addr.js';
import { isNetlinkError, RTPROT_WEFT, RT_TABLE_MAIN, type Netlink } from '../../src/netlink/index.js';
import type { Logger } from '../../src/log.js';
import type { RemoteNode } from '../../src/registry/types.js';
import { desiredFamily, familyView } from './desired.js';
import { VxlanDevice, type DeviceState, type VxlanDeviceSpec } from './device.js';
import { planFamily, type ActualFamily } from './diff.js';
import { FamilyProgrammer, type NodeOutcome } from './program.js';

export interface OverlaySpec extends VxlanDeviceSpec {
  family: Family;
  directRouting: boolean;
}

export interface OverlayPass {
  family: Family;
  /** Per node of this family (VXLAN nodes only): programmed, or why not. */
  outcomes: Map<string, NodeOutcome>;
  added: number;
  changed: number;
  removed: number;
  errors: number;
}

export class VxlanOverlay {
  readonly device: VxlanDevice;
  /** The node subnet's network address, put on the device as /32 (/128) once claimed. */
  private address: string | undefined;

  constructor(
    private readonly nl: Netlink,
    readonly spec: OverlaySpec,
    private readonly log: Logger,
  ) {
    this.device = new VxlanDevice(nl, spec, log);
  }

  get family(): Family {
    return this.spec.family;
  }

  /** Sets the device's VTEP address (the network address of the node's subnet). */
  async claim(networkAddress: string): Promise<void> {
    this.address = networkAddress;
    const device = await this.device.ensure();
    await this.device.ensureAddress(device.index, networkAddress, this.family);
  }

  async reconcile(remotes: readonly RemoteNode[]): Promise<OverlayPass> {
    const pass: OverlayPass = { family: this.family, outcomes: new Map(), added: 0, changed: 0, removed: 0, errors: 0 };
    let device: DeviceState;
    const failAll = (reason: string): OverlayPass => {
      // Nothing of this family can be programmed: every node of it waits for the next pass.
      pass.errors++;
      this.log.error({ device: this.spec.name, reason }, 'reconcile pass failed');
      for (const node of remotes) if (node.backendType === 'vxlan' && familyView(node, this.family)) pass.outcomes.set(node.name, { node: node.name, ok: false, reason });
      return pass;
    };
    try {
      device = await this.device.ensure();
      if (device.action !== 'unchanged') pass.changed++;
    } catch (error) {
      return failAll(`device ${this.spec.name}: ${describe(error)}`);
    }
    if (this.address !== undefined) {
      // Entries and routes do not depend on the device's own address: a failure here is counted
      // and retried next pass, and does not hold the nodes back.
      try {
        const address = await this.device.ensureAddress(device.index, this.address, this.family);
        pass.added += address.added;
        pass.removed += address.removed;
      } catch (error) {
        pass.errors++;
        this.log.error({ device: this.spec.name, address: this.address, reason: describe(error) }, 'device address not set');
      }
    }

    const direct = this.spec.directRouting ? await this.directlyReachable(remotes, device.index) : undefined;
    const desired = desiredFamily(remotes, { family: this.family, deviceIndex: device.index, ...(direct ? { direct } : {}) });
    let actual: ActualFamily;
    try {
      const [neighbours, fdb, routes] = await Promise.all([
        this.nl.neighbours.list({ dev: device.index, family: this.family }),
        this.nl.fdb.list({ dev: device.index }),
        this.nl.routes.list({ family: this.family, protocol: RTPROT_WEFT, table: RT_TABLE_MAIN }),
      ]);
      actual = { neighbours, fdb, routes };
    } catch (error) {
      // Diffing against a partial picture could delete entries that are fine: skip this pass.
      return failAll(`dump: ${describe(error)}`);
    }
    const plan = planFamily(this.family, desired.nodes, actual);
    const result = await new FamilyProgrammer(this.nl, device.index, this.log).apply(plan);

    for (const node of plan.inSync) pass.outcomes.set(node, { node, ok: true });
    for (const outcome of result.outcomes) pass.outcomes.set(outcome.node, outcome);
    for (const rejected of desired.rejected) pass.outcomes.set(rejected.node, { node: rejected.node, ok: false, reason: rejected.reason });
    pass.added += result.added;
    pass.changed += result.changed;
    pass.removed += result.removed;
    pass.errors += result.errors;
    return pass;
  }

  /**
   * DirectRouting: the public IPs the kernel reaches without a gateway (same L2 segment), with the
   * device it would use. One route lookup per remote, all pipelined. A lookup that fails leaves
   * the node on VXLAN, which works from anywhere.
   */
  private async directlyReachable(remotes: readonly RemoteNode[], deviceIndex: number): Promise<Map<string, number>> {
    const ips = new Set<string>();
    for (const node of remotes) {
      const view = node.backendType === 'vxlan' ? familyView(node, this.family) : undefined;
      if (!view) continue;
      try {
        ips.add(parseIp(view.publicIP).address); // the form desired.ts looks the map up by
      } catch {
        // an invalid address: desired.ts rejects the node with the reason
      }
    }
    const direct = new Map<string, number>();
    await Promise.all(
      [...ips].map(async (ip) => {
        try {
          const route = await this.nl.routes.get(ip);
          if (route && route.gateway === undefined && route.type === 'unicast' && route.index !== undefined && route.index !== deviceIndex) direct.set(ip, route.index);
        } catch (error) {
          this.log.debug({ publicIP: ip, reason: describe(error) }, 'route lookup failed; using VXLAN');
        }
      }),
    );
    return direct;
  }
}

function describe(error: unknown): string {
  return isNetlinkError(error) ? error.code : error instanceof Error ? error.message : String(error);
}
