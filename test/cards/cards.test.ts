import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assignCards } from '../../src/cards/assign.js';
import { cancelCard } from '../../src/cards/cancel.js';
import { findAccount, resolveConfig } from '../../src/config/load.js';
import { sandboxConfig } from '../../src/config/sandbox-accounts.js';
import { UsageError } from '../../src/errors.js';
import { formatProblem } from '../../src/manifest/index.js';
import { parseReport, startStack, type TestStack } from '../helpers/stack.js';

/** CT Payer card lifecycle against the sandbox: assign from a validated manifest, cancel. */

type Card = { cardId: string; participantId: string; status: string; balanceCents: number };
let stack: TestStack;

beforeAll(async () => {
  const seed = JSON.parse(await readFile('fixtures/ctpayer/sandbox.json', 'utf8')) as { accounts: { cards: Card[] }[] };
  seed.accounts[0]!.cards.push(
    { cardId: '1000000031', participantId: '', status: 'UNASSIGNED', balanceCents: 0 },
    { cardId: '1000000032', participantId: 'P-0032', status: 'ACTIVE', balanceCents: 1250 },
  );
  stack = await startStack({ providers: ['ctpayer'], sandbox: { seed } });
});
afterAll(() => stack?.close());
beforeEach(() => stack.sandboxes.ctpayer!.reset());

const sandbox = () => stack.sandboxes.ctpayer!;
const calls = (path: string) => sandbox().requests().filter((r) => r.path === path).length;
const card = (cardId: string) => (sandbox().state() as { accounts: { cards: Card[] }[] }).accounts[0]!.cards.find((c) => c.cardId === cardId)!;

describe('cards assign', () => {
  const manifest = ['cardId,participantId', '1000000021,P-NEW-1', '1000000001,P-0001', '1000000002,P-OTHER', '1000000022,P-X', '1000000031,P-NEW-2'].join('\n');

  it('assigns unassigned cards, reports every row, and changes nothing on a second run', async () => {
    // The answer to one assign is lost after the sandbox applied it: reading the card settles it, no second assign.
    sandbox().setFaults([{ kind: 'drop-after', paths: ['/assigncard.php'], match: { cardId: '1000000031' }, times: 1 }]);
    const file = await stack.manifest('assign.csv', manifest);
    const out = join(stack.dir, 'assign-report.csv');
    const result = await assignCards(stack.context, stack.account('ctpayer'), file, { out });
    expect(result.valid && result.outcomes.map(({ line, cardId, result, code }) => ({ line, cardId, result, code }))).toEqual([
      { line: 2, cardId: '1000000021', result: 'assigned', code: 'success' },
      { line: 3, cardId: '1000000001', result: 'already_assigned', code: 'ACTIVE' },
      { line: 4, cardId: '1000000002', result: 'failed', code: 'CARD_ASSIGNED' },
      { line: 5, cardId: '1000000022', result: 'failed', code: 'CARD_CANCELED' },
      { line: 6, cardId: '1000000031', result: 'assigned', code: 'success' },
    ]);
    expect(card('1000000021')).toMatchObject({ status: 'ACTIVE', participantId: 'P-NEW-1' });
    expect(card('1000000031')).toMatchObject({ status: 'ACTIVE', participantId: 'P-NEW-2' });
    expect(card('1000000002')).toMatchObject({ status: 'ACTIVE', participantId: 'P-0002' });
    expect(calls('/assigncard.php')).toBe(2);
    expect(parseReport(await readFile(out, 'utf8'))[2]).toMatchObject({ line: '4', cardId: '1000000002', result: 'failed', message: 'the card is assigned to participant P-0002' });

    const again = await assignCards(stack.context, stack.account('ctpayer'), file, { out: join(stack.dir, 'assign-again.csv') });
    expect(again.valid && again.outcomes.map((o) => o.result)).toEqual(['already_assigned', 'already_assigned', 'failed', 'failed', 'already_assigned']);
    expect(calls('/assigncard.php')).toBe(2);
  });

  it('rejects a manifest with any problem, with line and column, and sends nothing', async () => {
    const file = await stack.manifest('bad-assign.csv', [
      'cardId,participantId',
      '100000002,P-1',
      `1000000021,${'P'.repeat(41)}`,
      '1000000031,P-3',
      '1000000031,P-4',
      '1000000001,4111 1111 1111 1111',
      '1000000002,=SUM(A1)',
    ].join('\n'));
    const result = await assignCards(stack.context, stack.account('ctpayer'), file, { out: join(stack.dir, 'never.csv') });
    expect(!result.valid && result.problems.map(formatProblem)).toEqual([
      'line 2, column cardId: must be exactly 10 digits',
      'line 3, column participantId: must be at most 40 characters (has 41)',
      'line 5, column cardId: 1000000031 already appears on line 4',
      'line 6, column participantId: holds what looks like a full card number (…1111); card numbers never belong in a manifest',
      'line 7, column participantId: starts with =, + or @ (looks like a spreadsheet formula)',
    ]);
    expect(sandbox().requests()).toEqual([]);

    const header = await stack.manifest('bad-header.csv', 'cardId,participant\n1000000021,P-1\n');
    const refused = await assignCards(stack.context, stack.account('ctpayer'), header, { out: join(stack.dir, 'never.csv') });
    expect(!refused.valid && refused.problems.map(formatProblem)).toEqual([
      'line 1: unknown column "participant"; the columns card assignment manifests use are: cardId, participantId',
      'line 1: missing required column "participantId"',
    ]);
  });

  it('is for CT Payer accounts only', async () => {
    const file = await stack.manifest('vrx.csv', 'cardId,participantId\n1000000021,P-1\n');
    const virtualrx = findAccount(resolveConfig(sandboxConfig(), 'built-in'), 'virtualrx');
    await expect(assignCards(stack.context, virtualrx, file, { out: join(stack.dir, 'never.csv') })).rejects.toThrow(UsageError);
  });
});

describe('cards cancel', () => {
  it('cancels a card once, and a second cancel changes nothing', async () => {
    const account = stack.account('ctpayer');
    expect(await cancelCard(stack.context, account, { cardId: '1000000003', reason: 'Lost card' })).toEqual({ cardId: '1000000003', result: 'canceled', balanceCents: 0 });
    expect(card('1000000003').status).toBe('CANCELED');
    expect(await cancelCard(stack.context, account, { cardId: '1000000003', reason: 'Lost card' })).toMatchObject({ result: 'already_canceled' });
    expect(calls('/setcardstatus.php')).toBe(1);
  });

  it('keeps a card that holds money unless --with-balance, and says how much it holds', async () => {
    const account = stack.account('ctpayer');
    await expect(cancelCard(stack.context, account, { cardId: '1000000032', reason: 'Withdrew' })).rejects.toMatchObject({ code: 'CARD_HOLDS_BALANCE', message: expect.stringContaining('still holds $12.50') });
    expect(card('1000000032').status).toBe('ACTIVE');
    expect(calls('/setcardstatus.php')).toBe(0);
    expect(await cancelCard(stack.context, account, { cardId: '1000000032', reason: 'Withdrew', withBalance: true })).toEqual({ cardId: '1000000032', result: 'canceled', balanceCents: 1250 });
    expect(card('1000000032')).toMatchObject({ status: 'CANCELED', balanceCents: 1250 });
  });

  it('refuses a reason over 45 characters or a bad card id before sending anything, and names an unknown card', async () => {
    const account = stack.account('ctpayer');
    await expect(cancelCard(stack.context, account, { cardId: '1000000003', reason: 'x'.repeat(46) })).rejects.toThrow('--reason: must be at most 45 characters (has 46)');
    await expect(cancelCard(stack.context, account, { cardId: '12345', reason: 'Lost' })).rejects.toThrow('cardId: must be exactly 10 digits');
    expect(sandbox().requests()).toEqual([]);
    await expect(cancelCard(stack.context, account, { cardId: '1000000099', reason: 'Lost' })).rejects.toMatchObject({ code: 'CARD_UNREADABLE', message: expect.stringContaining('CARD_NOT_FOUND') });
  });
});
