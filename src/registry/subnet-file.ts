// Reads the subnet a previous run of this node used, from the subnet file it left behind
// (flannel's subnet.env format: FLANNEL_SUBNET=10.244.3.1/24, FLANNEL_IPV6_SUBNET=…; weft's own
// WEFT_ names are accepted too). The etcd registry prefers that subnet when its lease has expired,
// so pods keep their addresses across a long outage. Reading only: cni/ writes the file.
import { readFile } from 'node:fs/promises';
import { canonicalPrefix } from '../net/addr.js';

export interface PreviousSubnets {
  subnet?: string;
  ipv6Subnet?: string;
}

/**
 * The subnets recorded in `path`, in canonical network form. A missing or unreadable file, or a
 * malformed value, yields nothing for that field: the file is a hint, never a reason to fail.
 */
export async function readPreviousSubnets(path: string): Promise<PreviousSubnets> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return {};
  }
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Z0-9_]+)\s*=\s*"?([^"\s]*)"?\s*$/.exec(line);
    if (m !== null) values.set(m[1]!, m[2]!);
  }
  const result: PreviousSubnets = {};
  const v4 = prefixOf(values.get('WEFT_SUBNET') ?? values.get('FLANNEL_SUBNET'));
  const v6 = prefixOf(values.get('WEFT_IPV6_SUBNET') ?? values.get('FLANNEL_IPV6_SUBNET'));
  if (v4 !== undefined) result.subnet = v4;
  if (v6 !== undefined) result.ipv6Subnet = v6;
  return result;
}

function prefixOf(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  try {
    // The file holds the gateway address with the subnet's length (10.244.3.1/24): mask it.
    return canonicalPrefix(value);
  } catch {
    return undefined;
  }
}
