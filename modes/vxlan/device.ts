// VxlanDevice: makes sure the one VXLAN device of an address family (flannel.<VNI> or
// flannel-v6.<VNI>) exists with exactly the attributes we want, is up, and carries this node's
// VTEP address. Called on start and on every reconcile, so a deleted or tampered device (MTU,
// down, MAC) is repaired within one resync period.
//
// Why recreate rather than fix: the kernel refuses to change VNI, port, local address, underlay,
// learning or GBP of an existing VXLAN device (IFLA_VXLAN_* are create-only), so a device that
// differs is deleted and made again; only MTU and up/down are set in place. A recreated device gets
// the MAC the old one had: that MAC is our published VTEP MAC, and every other node's FDB and
// neighbour entries point at it.
//
// What it is not: the per-node entries (see program.ts). Recreating the device drops them with
// it; the reconcile pass that follows finds them missing and adds them back.
import { parseCidr, type Family } from '../../src/net/addr.js';
import { isNetlinkError, type LinkInfo, type Netlink } from '../../src/netlink/index.js';
import type { Logger } from '../../src/log.js';

export interface VxlanDeviceSpec {
  name: string;
  vni: number;
  port: number;
  /** This node's public IP of the device's family: the tunnel's source address. */
  local: string;
  underlayIndex: number;
  gbp: boolean;
  mtu: number;
}

export type DeviceAction = 'unchanged' | 'created' | 'recreated' | 'repaired';

export interface DeviceState {
  index: number;
  mac: string;
  mtu: number;
  action: DeviceAction;
  /** What was wrong with the device found (attribute names), empty when nothing was. */
  drift: string[];
}

/** Which of the create-only attributes of `link` differ from `spec` (empty: reusable as is). */
export function deviceDifferences(link: LinkInfo, spec: VxlanDeviceSpec): string[] {
  if (link.kind !== 'vxlan' || !link.vxlan) return [`kind ${link.kind ?? 'none'}`];
  const v = link.vxlan;
  const diffs: string[] = [];
  if (v.vni !== spec.vni) diffs.push('vni');
  if (v.port !== spec.port) diffs.push('port');
  if (v.local !== spec.local) diffs.push('local');
  if (v.underlayIndex !== spec.underlayIndex) diffs.push('underlay');
  if (v.learning) diffs.push('learning');
  if (v.gbp !== spec.gbp) diffs.push('gbp');
  return diffs;
}

export class VxlanDevice {
  /** The MAC the device had when we last saw it: reused when it must be made again. */
  private mac: string | undefined;

  constructor(
    private readonly nl: Netlink,
    readonly spec: VxlanDeviceSpec,
    private readonly log: Logger,
  ) {}

  /** Creates, recreates or repairs the device as needed; returns what it is now. */
  async ensure(): Promise<DeviceState> {
    const found = await this.nl.links.get(this.spec.name);
    if (!found) return this.create(this.mac ? 'recreated' : 'created', this.mac ? ['missing'] : []);
    const differences = deviceDifferences(found, this.spec);
    if (differences.length > 0) {
      this.log.warn({ device: this.spec.name, differences }, 'device attributes differ; recreating it');
      this.mac ??= found.mac;
      await this.nl.links.delete(found.index);
      this.nl.forgetIndex(this.spec.name);
      return this.create('recreated', differences);
    }
    // The first device we see (at start) gives the MAC we publish; from then on a different MAC
    // is drift: every other node's FDB and neighbour entries still point at the published one,
    // so traffic to a device that took another MAC is dropped until it is set back.
    this.mac ??= found.mac;
    const drift: string[] = [];
    if (found.mtu !== this.spec.mtu) drift.push('mtu');
    if (!found.up) drift.push('down');
    if (this.mac !== undefined && found.mac !== this.mac) drift.push('mac');
    if (drift.length > 0) {
      this.log.warn({ device: this.spec.name, drift, mtu: found.mtu, want: this.spec.mtu, mac: found.mac, wantMac: this.mac }, 'device drifted; repairing it');
      await this.nl.links.set(found.index, { mtu: this.spec.mtu, up: true, ...(drift.includes('mac') ? { mac: this.mac } : {}) });
    }
    return { index: found.index, mac: this.mac ?? found.mac ?? '', mtu: this.spec.mtu, action: drift.length > 0 ? 'repaired' : 'unchanged', drift };
  }

  /**
   * Gives the device exactly one address of its family: `address`/32 (or /128), the node subnet's
   * network address. Other addresses of that family on our device are removed (a previous lease);
   * IPv6 link-local addresses are the kernel's and stay. Returns how many addresses changed.
   */
  async ensureAddress(index: number, address: string, family: Family): Promise<{ added: number; removed: number }> {
    const want = `${parseCidr(`${address}/${family === 4 ? 32 : 128}`).address}/${family === 4 ? 32 : 128}`;
    const present = await this.nl.addresses.list({ dev: index, family });
    const stale = present.filter((a) => a.cidr !== want && !a.cidr.toLowerCase().startsWith('fe80:'));
    let added = 0;
    if (!present.some((a) => a.cidr === want)) {
      await this.nl.addresses.replace(index, want);
      added = 1;
    }
    await Promise.all(stale.map((a) => this.nl.addresses.delete(index, a.cidr)));
    if (added || stale.length) this.log.info({ device: this.spec.name, address: want, removed: stale.map((a) => a.cidr) }, 'device address set');
    return { added, removed: stale.length };
  }

  private async create(action: DeviceAction, drift: string[]): Promise<DeviceState> {
    const { name, vni, port, local, underlayIndex, gbp, mtu } = this.spec;
    try {
      await this.nl.links.createVxlan({ name, vni, port, local, underlay: underlayIndex, learning: false, gbp, mtu, ...(this.mac ? { mac: this.mac } : {}) });
    } catch (error) {
      // Somebody made it between our look and our create: take what is there next time round.
      if (!isNetlinkError(error, 'EEXIST')) throw error;
    }
    this.nl.forgetIndex(name);
    const link = await this.nl.links.get(name);
    if (!link) throw new Error(`vxlan device ${name} vanished right after being created`);
    await this.nl.links.set(link.index, { up: true });
    this.mac = link.mac;
    this.log.info({ device: name, vni, port, local, mac: link.mac, mtu: link.mtu, action, drift }, action === 'created' ? 'device created' : 'device recreated');
    return { index: link.index, mac: link.mac ?? '', mtu: link.mtu, action, drift };
  }
}
