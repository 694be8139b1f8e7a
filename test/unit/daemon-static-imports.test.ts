// What `weft daemon` loads before it knows its configuration: the static import graph from the
// CLI and the daemon's entry. Each registry client and each backend is imported dynamically, only
// by the daemon configured to use it — etcd3 (with gRPC and protobufjs) is ~0.18 s of start-up and
// ~30 MB of RSS, the Kubernetes client ~0.5 s and ~35 MB, bgp-ts and BFD ~60 modules — so a static
// import of any of them would make every node pay for all. Read with the TypeScript parser:
// `import type` and `import()` do not load anything at start and are not followed.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

/** Module specifiers a file imports for their values at load time. */
function staticImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
  const out: string[] = [];
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      if (clause?.isTypeOnly) continue;
      const named = clause?.namedBindings;
      // `import { type A, type B } from` loads nothing either (verbatimModuleSyntax aside).
      if (clause && !clause.name && named && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly)) continue;
      out.push((statement.moduleSpecifier as ts.StringLiteral).text);
    } else if (ts.isExportDeclaration(statement) && statement.moduleSpecifier && !statement.isTypeOnly) {
      out.push((statement.moduleSpecifier as ts.StringLiteral).text);
    }
  }
  return out;
}

/** Every module reached from `entry` by static imports: repository files and bare package names. */
function staticGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith('.')) {
        const target = join(dirname(file), spec).replace(/\.js$/, '.ts');
        if (!existsSync(target)) throw new Error(`${file}: cannot resolve ${spec}`);
        pending.push(target);
      } else if (!spec.startsWith('node:')) {
        packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
  }
  return { files, packages };
}

describe('weft daemon start-up loads only what every configuration needs', () => {
  const relative = (files: Set<string>): string[] => [...files].map((f) => f.slice(ROOT.length + 1));
  const daemon = staticGraph(join(ROOT, 'src/daemon/run.ts'));

  it('reaches the daemon builder (the walk follows the real graph)', () => {
    expect(relative(daemon.files)).toContain('src/daemon/build.ts');
    expect(daemon.packages).toContain('prom-client');
  });

  for (const entry of ['src/cli.ts', 'src/daemon/run.ts']) {
    const graph = entry === 'src/daemon/run.ts' ? daemon : staticGraph(join(ROOT, entry));

    it(`${entry}: no etcd3 and no Kubernetes client`, () => {
      expect([...graph.packages]).not.toContain('etcd3');
      expect([...graph.packages]).not.toContain('@kubernetes/client-node');
      expect(relative(graph.files).filter((f) => f.startsWith('src/registry/etcd') || f.startsWith('src/registry/kube'))).toEqual([]);
    });

    it(`${entry}: no backend, bgp-ts or BFD`, () => {
      expect(relative(graph.files).filter((f) => /^(modes\/(vxlan|bgp)\/|src\/bgp\/|src\/bfd\/)/.test(f))).toEqual([]);
    });
  }
});
