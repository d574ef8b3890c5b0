import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findCycle, floors, importEdges, unitOf } from './helpers/import-graph.js';

/**
 * The folders tell the life of a payment: src/ is the library, jobs/ the worker side that uses it.
 * No import runs upward (src/ into jobs/), and no folder loops back on another, so the folders
 * stand in floors, each importing only what stands below it. `npx vitest run test/architecture`
 * checks it; on failure the message names the offending imports or the loop.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const edges = importEdges(root, ['src', 'jobs']);
const folderEdges = edges.map(({ from, to }) => ({ from: unitOf(from), to: unitOf(to) })).filter(({ from, to }) => from !== to);

describe('the import graph of src/ and jobs/', () => {
  it('reads the imports (a sanity check of the reader)', () => {
    expect(edges.length).toBeGreaterThan(300);
    expect(edges).toContainEqual({ from: 'jobs/pay.ts', to: 'src/ledger/payments.ts' });
  });

  it('has no import from src/ into jobs/', () => {
    expect(edges.filter(({ from, to }) => from.startsWith('src/') && to.startsWith('jobs/'))).toEqual([]);
  });

  it('has no folder cycle', () => {
    const cycle = findCycle(folderEdges);
    expect(cycle, `folders import each other in a loop: ${cycle?.join(' -> ')}\nthe imports: ${JSON.stringify(folderEdges.filter((e) => cycle?.includes(e.from) && cycle.includes(e.to)))}`).toBeUndefined();
  });

  it('has no file cycle', () => {
    const cycle = findCycle(edges);
    expect(cycle, `files import each other in a loop: ${cycle?.join(' -> ')}`).toBeUndefined();
  });

  it('stands in floors with jobs/ above every folder of src/ it uses', () => {
    const standing = floors(folderEdges);
    const floorOf = (unit: string) => standing.findIndex((floor) => floor.includes(unit));
    for (const { from, to } of folderEdges) expect(floorOf(from), `${from} imports ${to}`).toBeGreaterThan(floorOf(to));
  });
});
