// Reads the subnet a previous run of this node used, from the subnet file it left behind
// (flannel's subnet.env format: FLANNEL_SUBNET=10.244.3.1/24, FLANNEL_IPV6_SUBNET=…; weft's own
// WEFT_ names are accepted too). The etcd registry prefers that subnet when its lease has expired,
// so pods keep their addresses across a long outage. Reading only: cni/subnet-env.ts writes the
// file and owns the line format.
import { readFile } from 'node:fs/promises';
import { parseSubnetEnvVariables } from '../cni/subnet-env.js';
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
  // One parser for the format, shared with the writer (src/cni/subnet-env.ts).
  const values = parseSubnetEnvVariables(text);
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
