// The ToR router templates of deploy/tor/, rendered the way an operator fills them in: every
// `{{NAME}}` replaced by a value. Rendering fails when a value is missing or unused, so a template
// and its test cannot drift apart silently.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TOR_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'deploy', 'tor');

export type TorTemplate = 'bird-rr.conf' | 'bird-ebgp.conf' | 'frr-rr.conf' | 'frr-ebgp.conf';

/** The placeholders a template uses, in order of first appearance. */
export function placeholders(template: TorTemplate): string[] {
  const text = readFileSync(join(TOR_DIR, template), 'utf8');
  return [...new Set([...text.matchAll(/\{\{([A-Z0-9_]+)\}\}/g)].map((m) => m[1]!))];
}

export function renderTorTemplate(template: TorTemplate, values: Record<string, string | number>): string {
  const used = placeholders(template);
  const missing = used.filter((name) => values[name] === undefined);
  const unused = Object.keys(values).filter((name) => !used.includes(name));
  if (missing.length > 0 || unused.length > 0) throw new Error(`${template}: missing ${missing.join(', ') || '-'}; not in the template ${unused.join(', ') || '-'}`);
  const text = readFileSync(join(TOR_DIR, template), 'utf8').replace(/\{\{([A-Z0-9_]+)\}\}/g, (_, name: string) => String(values[name]));
  if (text.includes('{{')) throw new Error(`${template}: a placeholder is left after rendering`);
  return text;
}
