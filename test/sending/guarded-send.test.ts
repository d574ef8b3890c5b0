import { describe, expect, it } from 'vitest';
import { ctpayer, type CtPayerCredentials } from '../../src/providers/ctpayer.js';
import type { HttpRequest } from '../../src/providers/http.js';
import type { RunningSandbox } from '../../src/sandbox/index.js';
import { guardedSend, NotSent, type SendClaim } from '../../src/sending/guarded-send.js';
import { sandboxPerFile } from '../helpers/client-context.js';

/**
 * The one guarded send, with the real CT Payer adapter against its sandbox over HTTP: what the
 * provider received is the proof. A request leaves only once its claim is taken (and durable); an
 * error before that sends nothing and is thrown as it is (the caller retries; the ledger still
 * holds whatever the claim wrote); an error once a request may have left is `unknown`.
 */

const CREDENTIALS: CtPayerCredentials = { username: 'sandbox', password: 'sandbox-password', apiusername: 'test-suite' };
const FIELDS = { cardId: '1000000001', description: 'Visit 1 stipend' };

let sandbox: RunningSandbox;
const contexts = sandboxPerFile('ctpayer', (started) => {
  sandbox = started;
});

/** The CT Payer client, its HTTP sender optionally failing once the request has been answered. */
function client(options: { failAfterAnswer?: boolean } = {}) {
  const context = contexts.context(sandbox.url, CREDENTIALS);
  return ctpayer.createClient({
    ...context,
    send: async (request: HttpRequest) => {
      const result = await context.send(request);
      if (options.failAfterAnswer) throw new Error('the connection broke while the answer was read');
      return result;
    },
  });
}

let sequence = 0;
function payOnce(claim: SendClaim<'taken-elsewhere'>, options: { failAfterAnswer?: boolean } = {}) {
  sequence += 1;
  const paymentId = `guarded-${sequence}`;
  return guardedSend(claim, (beforeSend) => client(options).pay({ paymentId, idempotencyKey: paymentId, amountCents: 1250, fields: FIELDS, beforeSend }));
}

const loads = () => sandbox.requests().filter((r) => r.path.includes('loadcard'));

describe('a guarded send', () => {
  it('sends once its claim is taken, and returns the provider\'s answer', async () => {
    const outcome = await payOnce({ take: async () => undefined });
    expect(outcome).toMatchObject({ kind: 'paid' });
    expect(sandbox.transactions().map((t) => t.amountCents)).toEqual([1250]);
  });

  it('sends nothing when the ledger refuses the claim', async () => {
    const outcome = await payOnce({ take: async () => 'taken-elsewhere' });
    expect(outcome).toBeInstanceOf(NotSent);
    expect((outcome as NotSent<string>).reason).toBe('taken-elsewhere');
    expect(loads()).toEqual([]);
  });

  it('sends nothing when the claim cannot be confirmed durable', async () => {
    const outcome = await payOnce({ take: async () => undefined, confirmDurable: async () => false });
    expect((outcome as NotSent<string>).reason).toBe('not-durable');
    expect(loads()).toEqual([]);
  });

  it('throws an error raised before the request left (taking the claim failed): nothing was sent', async () => {
    await expect(payOnce({ take: async () => { throw new Error('Redis connection lost'); } })).rejects.toThrow('Redis connection lost');
    expect(loads()).toEqual([]);
  });

  it('calls an error raised once the request may have left unknown: here the provider had applied it', async () => {
    const outcome = await payOnce({ take: async () => undefined }, { failAfterAnswer: true });
    expect(outcome).toMatchObject({ kind: 'unknown', code: 'ADAPTER_ERROR' });
    expect(sandbox.transactions().map((t) => t.amountCents)).toEqual([1250]);
  });
});
