// Shared fixtures for the RIB unit tests: sources and attribute sets built from short literals.
import { AttributeTable, type AttributeValues, type Attributes } from '../../src/bgp/rib/attributes.js';
import { makeSource, routerIdNumber, type PathSource } from '../../src/bgp/rib/path.js';

export const table = new AttributeTable();

export function attrs(values: Partial<AttributeValues> = {}): Attributes {
  return table.intern({ origin: 0, asPath: [], nextHop: '192.0.2.1', ...values });
}

export function seq(...asns: number[]): AttributeValues['asPath'] {
  return [{ type: 'sequence', asns }];
}

export function source(address: string, opts: { asn?: number; ibgp?: boolean; routerId?: string; rrClient?: boolean } = {}): PathSource {
  return makeSource({
    id: address,
    address,
    asn: opts.asn ?? 65001,
    ibgp: opts.ibgp ?? false,
    rrClient: opts.rrClient ?? false,
    routerId: routerIdNumber(opts.routerId ?? address),
  });
}
