// Text tables the lab prints: nodes, pods and the pod-to-pod connectivity matrix.
import type { LabPodState, PingResult } from './lab.js';

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** A matrix with one row per source pod: ✓ reached, ✗ not, · itself. */
export function connectivityMatrix(pods: LabPodState[], results: PingResult[]): string {
  const ok = new Map(results.map((r) => [`${r.from}→${r.to}`, r.ok]));
  const names = pods.map((p) => p.name);
  const rows = names.map((from) => [from, ...names.map((to) => (from === to ? '·' : ok.get(`${from}→${to}`) === undefined ? '?' : ok.get(`${from}→${to}`) ? '✓' : '✗'))]);
  return table(['from \\ to', ...names.map((n) => n.replace(/^node(\d+)-pod(\d+)$/, 'n$1p$2'))], rows);
}
