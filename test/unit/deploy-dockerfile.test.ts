// deploy/Dockerfile, checked statically (no container engine runs here): multi-stage with pinned,
// non-latest bases; no downloads outside the package managers; a runtime stage holding only the
// built app, production node_modules, iproute2, nftables and the CNI plugins the DaemonSet's init
// container installs; a non-root default user; an entrypoint that is package.json's `weft` bin.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DAEMON_NODE_FLAGS } from '../../src/daemon/node-flags.js';
import { DEPLOY_DIR, KUBE_DIR, REPO_ROOT, daemonSetOf, kustomizationFileObjects } from '../helpers/deploy-manifests.js';

interface Instruction {
  keyword: string;
  args: string;
  /** Index of the stage (FROM) it belongs to; -1 before the first FROM. */
  stage: number;
}

interface Stage {
  image: string;
  name?: string;
  instructions: Instruction[];
}

/** Instructions with continuation lines joined and comments dropped (enough for our Dockerfile). */
function parseDockerfile(text: string): { instructions: Instruction[]; stages: Stage[]; args: Map<string, string> } {
  const logical: string[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line)) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    if (current.trim() !== '') logical.push(current.trim());
    current = '';
  }
  const instructions: Instruction[] = [];
  const stages: Stage[] = [];
  const args = new Map<string, string>();
  for (const line of logical) {
    const m = /^([A-Za-z]+)\s+([\s\S]*)$/.exec(line);
    if (!m) throw new Error(`not an instruction: ${line}`);
    const keyword = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
    if (keyword === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (!from) throw new Error(`bad FROM: ${rest}`);
      const image = from[1]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_all, a: string | undefined, b: string | undefined) => args.get((a ?? b)!) ?? '');
      stages.push({ image, ...(from[2] ? { name: from[2] } : {}), instructions: [] });
    } else if (keyword === 'ARG' && stages.length === 0) {
      const [name, value] = rest.split('=', 2);
      if (value !== undefined) args.set(name!, value);
    }
    const instruction = { keyword, args: rest, stage: stages.length - 1 };
    instructions.push(instruction);
    stages.at(-1)?.instructions.push(instruction);
  }
  return { instructions, stages, args };
}

const DOCKERFILE = join(DEPLOY_DIR, 'Dockerfile');
const text = readFileSync(DOCKERFILE, 'utf8');
const { instructions, stages } = parseDockerfile(text);
const runtime = stages.at(-1)!;
const build = stages.find((s) => s.name === 'build');
const of = (stage: Stage | undefined, keyword: string): string[] => (stage?.instructions ?? []).filter((i) => i.keyword === keyword).map((i) => i.args);
const runText = (stage: Stage | undefined): string => of(stage, 'RUN').join('\n');
/** `COPY --from=STAGE SRC… DEST` of the runtime stage, by source. */
const copiesFrom = (stageName: string): { sources: string[]; dest: string }[] =>
  of(runtime, 'COPY')
    .filter((a) => a.startsWith(`--from=${stageName} `))
    .map((a) => {
      const parts = a.split(/\s+/).slice(1);
      return { sources: parts.slice(0, -1), dest: parts.at(-1)! };
    });

const packageJson = z
  .object({ bin: z.record(z.string(), z.string()), engines: z.object({ node: z.string() }) })
  .parse(JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')));

describe('deploy/Dockerfile', () => {
  it('says what it is for in a header comment', () => {
    expect(text.split('\n').slice(0, 3).join('\n')).toMatch(/^# syntax=docker\/dockerfile:1\n# The weft container image/);
  });

  it('is multi-stage, every stage named, the last one the runtime', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.name, s.image).toBeDefined();
    expect(build).toBeDefined();
    expect(runtime.name).toBe('runtime');
    expect(instructions.filter((i) => i.stage === -1).every((i) => i.keyword === 'ARG')).toBe(true);
  });

  it('pins every base image to a tag that is not latest, Node at the major package.json asks for', () => {
    const major = /(\d+)/.exec(packageJson.engines.node)?.[1];
    for (const s of stages) {
      const earlierStage = stages.some((o) => o.name === s.image);
      if (earlierStage) continue;
      const tag = /^[^@]+:([^:@/]+)(@sha256:[0-9a-f]{64})?$/.exec(s.image)?.[1];
      expect(tag, `${s.image} has an explicit tag`).toBeDefined();
      expect(tag, s.image).not.toBe('latest');
      if (s.image.startsWith('node:')) expect(tag!.startsWith(`${major}-`) || tag === major, `${s.image} is Node ${major}`).toBe(true);
    }
  });

  it('downloads nothing outside the package managers: no ADD, no curl or wget', () => {
    expect(instructions.filter((i) => i.keyword === 'ADD')).toEqual([]);
    expect(instructions.filter((i) => i.keyword === 'RUN' && /\b(curl|wget)\b/.test(i.args))).toEqual([]);
  });

  it('builds with npm ci and the native toolchain, then drops dev dependencies', () => {
    const run = runText(build);
    for (const pkg of ['python3', 'make', 'g++']) expect(run).toMatch(new RegExp(`apt-get install[^&]*\\s${pkg.replace('+', '\\+')}(\\s|$)`));
    expect(run).toMatch(/npm ci\b/);
    expect(run).toMatch(/npm prune --omit=dev|npm ci [^&]*--omit=dev/);
  });

  it('copies into the build every input of the build that exists, and the build-context filter keeps them', () => {
    const sources = of(build, 'COPY')
      .filter((a) => !a.startsWith('--from='))
      .flatMap((a) => a.split(/\s+/).slice(0, -1));
    for (const source of sources) expect(existsSync(join(REPO_ROOT, source)), source).toBe(true);
    const tsconfigBuild = z.object({ include: z.array(z.string()) }).parse(JSON.parse(readFileSync(join(REPO_ROOT, 'tsconfig.build.json'), 'utf8')));
    for (const dir of tsconfigBuild.include) expect(sources.map((s) => s.replace(/\/$/, '')), `tsconfig.build.json includes ${dir}`).toContain(dir);
    const ignored = readFileSync(join(DEPLOY_DIR, 'Dockerfile.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'));
    for (const entry of ['node_modules', 'dist', 'build', '.git']) expect(ignored, `${entry} stays out of the context`).toContain(entry);
    for (const source of sources) expect(ignored, `${source} is needed by the build`).not.toContain(source.replace(/\/$/, ''));
  });

  it('ships only the built app and production node_modules in the runtime stage, no compilers', () => {
    const fromBuild = copiesFrom('build').flatMap((c) => c.sources);
    const gyp = /"target_name":\s*"([^"]+)"/.exec(readFileSync(join(REPO_ROOT, 'binding.gyp'), 'utf8'))?.[1];
    expect(new Set(fromBuild)).toEqual(new Set(['/app/package.json', '/app/bin', '/app/dist', `/app/build/Release/${gyp}.node`, '/app/node_modules']));
    expect(of(runtime, 'COPY').filter((a) => !a.startsWith('--from='))).toEqual([]); // nothing straight from the context
    expect(runText(runtime)).not.toMatch(/\b(python3|g\+\+|gcc|make|build-essential)\b/);
    expect(of(runtime, 'ENV').join(' ')).toContain('NODE_ENV=production');
  });

  it('has iproute2 and nftables in the runtime stage, and no iptables', () => {
    const run = runText(runtime);
    expect(run).toMatch(/apt-get install[^&]*\biproute2\b/);
    expect(run).toMatch(/apt-get install[^&]*\bnftables\b/);
    expect(run).not.toMatch(/\biptables\b/);
  });

  it('puts every CNI plugin the init container installs in /opt/cni/bin-src, from Debian containernetworking-plugins', () => {
    const cni = stages.find((s) => s.name === 'cni-plugins');
    expect(runText(cni)).toMatch(/apt-get install[^&]*\bcontainernetworking-plugins\b/);
    const copy = copiesFrom('cni-plugins');
    expect(copy.map((c) => c.dest)).toEqual(['/opt/cni/bin-src/']);
    const ds = daemonSetOf(kustomizationFileObjects(join(KUBE_DIR, 'base')));
    const init = ds.spec.template.spec.initContainers?.find((c) => c.name === 'install-cni-plugins');
    const script = (init?.command ?? []).join(' ');
    expect(script).toContain('/opt/cni/bin-src/');
    const wanted = /for plugin in ([a-z0-9 -]+);/.exec(script)?.[1]?.split(' ') ?? [];
    expect(wanted.length).toBeGreaterThan(0);
    for (const plugin of wanted) expect(runText(cni), `${plugin} is kept in the image`).toContain(`/usr/lib/cni/${plugin} `);
  });

  it('runs as a non-root user by default (the DaemonSet opts into UID 0, with a comment why)', () => {
    const users = of(runtime, 'USER');
    expect(users).toHaveLength(1);
    const user = users[0]!.split(':')[0]!;
    expect(['0', 'root']).not.toContain(user);
    expect(text).toMatch(/ambient capabilities/);
  });

  it("starts package.json's weft bin in exec form with the daemon's V8 flags, and has no HEALTHCHECK (Kubernetes probes instead)", () => {
    const entrypoint = z.array(z.string()).parse(JSON.parse(of(runtime, 'ENTRYPOINT')[0] ?? 'null'));
    expect(entrypoint[0]).toBe('node');
    // The daemon's V8 flags, as the lab runs it (src/daemon/node-flags.ts), then the bin.
    expect(entrypoint.slice(1, -1)).toEqual(DAEMON_NODE_FLAGS);
    expect(entrypoint.at(-1)).toBe(`/app/${packageJson.bin.weft!.replace(/^\.\//, '')}`);
    expect(instructions.filter((i) => i.keyword === 'HEALTHCHECK')).toEqual([]);
  });
});
