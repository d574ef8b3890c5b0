import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/**
 * The import graph of the program's own code (src/ and jobs/), read with TypeScript's own
 * pre-processor (static imports, re-exports, `import type` and dynamic `import()` alike), so the
 * architecture test checks what the compiler sees, not what a regular expression guesses.
 */

export interface ImportEdge {
  from: string;
  to: string;
}

/** Every import from one file of `roots` to another, as paths relative to `projectRoot`. */
export function importEdges(projectRoot: string, roots: readonly string[]): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of roots.flatMap((root) => sourceFiles(join(projectRoot, root)))) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith('.')) continue;
      // Sources import their siblings as `.js` (NodeNext resolution); the file is the `.ts`.
      const target = resolve(dirname(file), fileName).replace(/\.js$/, '.ts');
      edges.push({ from: relative(projectRoot, file), to: relative(projectRoot, target) });
    }
  }
  return edges;
}

/**
 * The unit a file belongs to when folders are compared: `jobs` for the worker side, a folder of
 * src (`src/ledger`) or a file at the top of src (`src/cli.ts`), which stands alone.
 */
export function unitOf(path: string): string {
  const [top, second] = path.split('/');
  return top === 'src' ? `src/${second}` : top!;
}

/** A cycle of `nodes` under `edges` as the list of nodes around it, or undefined when there is none. */
export function findCycle(edges: readonly ImportEdge[]): string[] | undefined {
  const next = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    if (from === to) continue;
    next.set(from, (next.get(from) ?? new Set()).add(to));
  }
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'open');
    path.push(node);
    for (const to of next.get(node) ?? []) {
      const cycle = visit(to);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of next.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

/**
 * The floors of an acyclic graph: floor 1 imports nothing of the graph, each higher floor only
 * what stands below it. Every import then runs downward, which is what "no upward import" means.
 */
export function floors(edges: readonly ImportEdge[]): string[][] {
  const nodes = new Set(edges.flatMap(({ from, to }) => [from, to]));
  const height = new Map<string, number>();
  const heightOf = (node: string): number => {
    const known = height.get(node);
    if (known !== undefined) return known;
    const below = edges.filter((e) => e.from === node && e.to !== node).map((e) => heightOf(e.to));
    const h = 1 + Math.max(0, ...below);
    height.set(node, h);
    return h;
  };
  const result: string[][] = [];
  for (const node of [...nodes].sort()) (result[heightOf(node) - 1] ??= []).push(node);
  return result;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}
