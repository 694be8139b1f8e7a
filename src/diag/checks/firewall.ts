// Is a FORWARD chain dropping pod traffic? Read the way an operator would: `nft -j list ruleset`
// (which also shows iptables-nft's tables) and, when legacy iptables tables exist,
// `iptables-legacy-save`. A forward-hook chain with policy drop must accept the cluster network
// somewhere; an explicit drop/reject of the cluster network is reported as such.
//
// Deliberately shallow: it matches rules whose only conditions are the pod network as source or
// destination (what flannel and weft install), not arbitrary rule sets; a chain whose rules it cannot
// read is reported as a warning, never as healthy.
import { rangeOf } from '../../net/prefix-math.js';

import { command, type Finding, type NodeFacts } from './types.js';

interface NftChain { family: string; table: string; name: string; hook?: string; policy?: string }
interface NftRule { family: string; table: string; chain: string; expr?: unknown[] }

/** Does prefix `inner` lie inside (or equal) `outer`? */
export function covers(outer: string, inner: string): boolean {
  const o = rangeOf(outer);
  const i = rangeOf(inner);
  return o.family === i.family && o.start <= i.start && i.end <= o.end;
}

/** The prefixes a rule matches as ip saddr/daddr, and its verdict. */
function ruleSummary(rule: NftRule): { prefixes: string[]; verdict?: string } {
  const prefixes: string[] = [];
  let verdict: string | undefined;
  for (const e of rule.expr ?? []) {
    const expr = e as Record<string, unknown>;
    const match = expr.match as { left?: { payload?: { field?: string } }; right?: unknown } | undefined;
    if (match && (match.left?.payload?.field === 'saddr' || match.left?.payload?.field === 'daddr')) {
      const right = match.right as { prefix?: { addr: string; len: number } } | string | undefined;
      if (typeof right === 'string') prefixes.push(`${right}/32`);
      else if (right?.prefix) prefixes.push(`${right.prefix.addr}/${right.prefix.len}`);
    }
    for (const v of ['accept', 'drop', 'reject']) if (v in expr) verdict = v;
  }
  return { prefixes, ...(verdict ? { verdict } : {}) };
}

export async function checkForwardChain(facts: NodeFacts): Promise<Finding[]> {
  const network = facts.subnetEnv?.network;
  const check = 'firewall.forward';
  if (!network) return [{ check, severity: 'warn', what: 'cannot check FORWARD: cluster network unknown (subnet file unreadable)' }];
  const findings: Finding[] = [];
  const nft = await facts.run('nft', ['-j', 'list', 'ruleset']);
  if (nft === undefined) {
    findings.push({ check, severity: 'warn', what: 'nft is not installed: nftables FORWARD chains not checked' });
  } else if (!nft.ok) {
    findings.push({ check, severity: 'warn', what: `nft -j list ruleset failed: ${nft.stderr.trim()}` });
  } else {
    const items = ((JSON.parse(nft.stdout) as { nftables?: Record<string, unknown>[] }).nftables ?? []);
    const chains = items.filter((i) => 'chain' in i).map((i) => i.chain as NftChain).filter((c) => c.hook === 'forward' && (c.family === 'ip' || c.family === 'inet'));
    const rules = items.filter((i) => 'rule' in i).map((i) => i.rule as NftRule);
    for (const chain of chains) {
      const mine = rules.filter((r) => r.family === chain.family && r.table === chain.table && r.chain === chain.name).map(ruleSummary);
      const dropping = mine.find((r) => (r.verdict === 'drop' || r.verdict === 'reject') && r.prefixes.some((p) => covers(p, network) || covers(network, p)));
      const accepted = mine.some((r) => r.verdict === 'accept' && r.prefixes.some((p) => covers(p, network)));
      const where = `${chain.family} ${chain.table} ${chain.name}`;
      if (dropping) findings.push({ check, severity: 'error', what: `nftables chain ${where} ${dropping.verdict}s ${dropping.prefixes.join(', ')} (pod network ${network})`, why: 'forwarded pod traffic is dropped on this node', fix: command('nft', 'insert', 'rule', chain.family, chain.table, chain.name, 'ip', 'saddr', network, 'accept') + ' && ' + command('nft', 'insert', 'rule', chain.family, chain.table, chain.name, 'ip', 'daddr', network, 'accept') });
      else if (chain.policy === 'drop' && !accepted) findings.push({ check, severity: 'error', what: `nftables chain ${where} has policy drop and no accept for ${network}`, why: 'every forwarded pod packet falls through to the drop policy', fix: command('nft', 'insert', 'rule', chain.family, chain.table, chain.name, 'ip', 'saddr', network, 'accept') + ' && ' + command('nft', 'insert', 'rule', chain.family, chain.table, chain.name, 'ip', 'daddr', network, 'accept') });
    }
  }
  const legacy = await facts.run('iptables-legacy-save', ['-t', 'filter']);
  if (legacy?.ok && /^:FORWARD DROP/m.test(legacy.stdout)) {
    const accepts = [...legacy.stdout.matchAll(/^-A FORWARD .*-[sd] (\S+) .*-j ACCEPT/gm)].some((m) => covers(m[1]!.includes('/') ? m[1]! : `${m[1]}/32`, network));
    if (!accepts) findings.push({ check, severity: 'error', what: `iptables (legacy) FORWARD policy DROP and no ACCEPT for ${network}`, why: 'every forwarded pod packet falls through to the drop policy', fix: `${command('iptables-legacy', '-I', 'FORWARD', '-s', network, '-j', 'ACCEPT')} && ${command('iptables-legacy', '-I', 'FORWARD', '-d', network, '-j', 'ACCEPT')}` });
  }
  if (!findings.some((f) => f.severity === 'error')) findings.push({ check, severity: 'ok', what: `no FORWARD chain drops ${network}` });
  return findings;
}
