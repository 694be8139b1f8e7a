// How the Kubernetes registry reads a remote Node: which annotations (under which prefix) and
// podCIDRs make its network-relevant projection, and which nodes are not members at all.
import { describe, expect, it } from 'vitest';
import { annotationNames, FLANNEL_ANNOTATION_PREFIX, remoteEntryOf } from '../../src/registry/kube.js';
import { validateRemoteEntries } from '../../src/registry/validate.js';

const weft = annotationNames('weft.io/');

describe('remoteEntryOf', () => {
  it('projects podCIDRs (first v4, first v6) and the prefixed annotations', () => {
    const entry = remoteEntryOf(
      {
        metadata: {
          name: 'n1',
          annotations: {
            'weft.io/backend-type': 'vxlan',
            'weft.io/backend-data': '{"VNI":1,"VtepMAC":"0a:58:0a:f4:00:01"}',
            'weft.io/public-ip': '192.0.2.5',
            'weft.io/public-ipv6': '2001:db8::5',
            'weft.io/backend-v6-data': '{"VNI":1,"VtepMAC":"0a:58:0a:f4:00:02"}',
            'unrelated/x': 'y',
          },
        },
        spec: { podCIDR: '10.244.3.0/24', podCIDRs: ['10.244.3.0/24', 'fd00:10:244:3::/64', '10.244.4.0/24'] },
      },
      weft,
    );
    expect(entry).toEqual({
      name: 'n1',
      subnet: '10.244.3.0/24',
      ipv6Subnet: 'fd00:10:244:3::/64',
      publicIP: '192.0.2.5',
      publicIPv6: '2001:db8::5',
      backendType: 'vxlan',
      backendData: '{"VNI":1,"VtepMAC":"0a:58:0a:f4:00:01"}',
      backendV6Data: '{"VNI":1,"VtepMAC":"0a:58:0a:f4:00:02"}',
    });
  });

  it('keeps a CrossSubnet bgp node\'s VTEP from its annotations through validation', () => {
    const entry = remoteEntryOf(
      {
        metadata: {
          name: 'far',
          annotations: { 'weft.io/backend-type': 'bgp', 'weft.io/backend-data': '{"ASN":64512,"VNI":1,"VtepMAC":"0A:58:0A:F4:00:07"}', 'weft.io/public-ip': '198.51.100.7' },
        },
        spec: { podCIDR: '10.244.7.0/24' },
      },
      weft,
    );
    const { nodes } = validateRemoteEntries([entry!], { network: { network: '10.244.0.0/16', subnetLen: 24 } });
    expect(nodes.map((n) => n.backendData)).toEqual([{ ASN: 64512, VNI: 1, VtepMAC: '0a:58:0a:f4:00:07' }]);
  });

  it('falls back to spec.podCIDR when podCIDRs is absent', () => {
    const entry = remoteEntryOf({ metadata: { name: 'n', annotations: { 'weft.io/public-ip': '192.0.2.9' } }, spec: { podCIDR: '10.244.9.0/24' } }, weft);
    expect(entry).toMatchObject({ subnet: '10.244.9.0/24', publicIP: '192.0.2.9', backendType: undefined });
  });

  it('a node without any of our annotations is not a member (no entry, so no skip either)', () => {
    expect(remoteEntryOf({ metadata: { name: 'kubelet-only', annotations: { 'node.alpha.kubernetes.io/ttl': '0' } }, spec: { podCIDR: '10.244.1.0/24' } }, weft)).toBeUndefined();
    expect(remoteEntryOf({ metadata: { name: 'bare' } }, weft)).toBeUndefined();
    // Annotations under another prefix do not count.
    const flannelNode = { metadata: { name: 'f', annotations: { 'flannel.alpha.coreos.com/backend-type': 'vxlan' } } };
    expect(remoteEntryOf(flannelNode, weft)).toBeUndefined();
    expect(remoteEntryOf(flannelNode, annotationNames(FLANNEL_ANNOTATION_PREFIX))).toMatchObject({ name: 'f', backendType: 'vxlan', subnet: undefined });
  });
});

describe('remoteEntryOf on malformed Node objects', () => {
  it('never throws: wrong types are ignored, so one bad Node cannot make every relist fail', () => {
    const names = annotationNames('weft.io/');
    const odd: unknown[] = [
      null,
      {},
      { metadata: null },
      { metadata: { name: 7, annotations: 'x' } },
      { metadata: { name: 'n', annotations: { 'weft.io/public-ip': '192.0.2.1' } }, spec: { podCIDRs: 'not-a-list', podCIDR: 5 } },
      { metadata: { name: 'n', annotations: { 'weft.io/public-ip': '192.0.2.1' } }, spec: { podCIDRs: [null, 3, '10.244.1.0/24'] }, status: { addresses: [null, { type: 'InternalIP', address: 4 }] } },
    ];
    for (const node of odd) expect(() => remoteEntryOf(node as never, names), JSON.stringify(node)).not.toThrow();
    expect(remoteEntryOf(odd[5] as never, names)).toMatchObject({ name: 'n', subnet: '10.244.1.0/24' });
  });
});
