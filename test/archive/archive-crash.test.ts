import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { openContext } from '../../src/context.js';
import { heldInAccounts } from '../../src/ledger/claims.js';
import { writeReconciliation } from '../../src/reports/reconciliation.js';
import { startStack, type TestStack } from '../helpers/stack.js';

/**
 * `stipend archive` killed (SIGKILL) at random moments, again and again, then run to its end: at
 * every stop each payment is still held against a second payment (by its record, or by its compact
 * holder), every batch reads whole, and the end state reports exactly what was paid.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BATCHES = 4;
const ROWS = 500;

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'], account: { rateLimit: { max: 20_000, perMs: 1000 }, concurrency: 50 } });
  await stack.startWorkers();
});
afterAll(async () => {
  await stack?.close();
});

/** `stipend archive --older-than 0` in its own process, killed `killAfterMs` after its first line (never, when undefined). */
function archiveProcess(killAfterMs: number | undefined): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'jobs/main.ts', 'archive', '--older-than', '0', '--config', stack.configFile], { cwd: ROOT });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      if (stdout === '' && killAfterMs !== undefined) setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      stdout += d.toString();
    });
    child.on('exit', (code) => resolve({ code, stdout }));
  });
}

it('a killed archive leaves every payment held and every batch whole, and the next run finishes it', { timeout: 240_000 }, async () => {
  const batchIds: string[] = [];
  const reports = new Map<string, string>();
  for (let b = 0; b < BATCHES; b += 1) {
    const file = await stack.manifest(`crash-${b}.csv`, [
      'payment_id,cardId,amount,description',
      ...Array.from({ length: ROWS }, (_, i) => `crash-${b}-${i},10000000${String((i % 20) + 1).padStart(2, '0')},1.${String(i % 100).padStart(2, '0')},Visit stipend`),
    ].join('\n'));
    const submitted = await submitManifest(stack.context, { file, account: stack.account('ctpayer') });
    if (!submitted.accepted) throw new Error('refused');
    await waitForBatch(stack.context, submitted.batchId, { pollMs: 50 });
    await stack.context.batches.markSettled(submitted.batchId);
    batchIds.push(submitted.batchId);
    reports.set(submitted.batchId, await readFile((await writeReconciliation(stack.context, submitted.batchId, join(stack.dir, 'before'))).csv, 'utf8'));
  }

  let kills = 0;
  for (let run = 0; ; run += 1) {
    // The first runs are cut short at random, the last is let finish.
    const finishing = run >= 8;
    const { code } = await archiveProcess(finishing ? undefined : Math.floor(Math.random() * 250));
    if (code === null) kills += 1;
    // A killed run leaves its lock to expire within a minute; it is let go at once here, as expiry would.
    await stack.context.redis.del(stack.context.keys.archiveRunLock());
    // Each run's reader is new, as the next process's would be: nothing read before the kill counts.
    const reader = await openContext(stack.config);
    try {
      for (const [b, batchId] of batchIds.entries()) {
        const ids = Array.from({ length: ROWS }, (_, i) => `crash-${b}-${i}`);
        const held = await heldInAccounts(reader.redis, reader.keys, 'ctpayer', ['main'], ids);
        expect(held.filter((h) => h?.batchId !== batchId)).toEqual([]);
        const csv = await readFile((await writeReconciliation(reader, batchId, join(stack.dir, `run-${run}`), { remember: false })).csv, 'utf8');
        expect(csv).toBe(reports.get(batchId));
      }
    } finally {
      await reader.close();
    }
    if (finishing) {
      expect(code).toBe(0);
      break;
    }
    await sleep(10);
  }
  expect(kills).toBeGreaterThan(0);
  const archived = await stack.context.archive.index.getMany(batchIds);
  expect(archived.map((batch) => batch?.payments)).toEqual(Array(BATCHES).fill(ROWS));
  // Nothing of the batches' payments is left in Redis but the compact holders.
  expect(await stack.context.redis.keys(`${stack.prefix}:*:pay:*`)).toEqual([]);
});
