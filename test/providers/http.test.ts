import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpSender, type HttpRequest } from '../../src/providers/http.js';

/**
 * What a payment's outcome rests on: a request the provider cannot have received is `not-sent` (safe
 * to send again), one that may have reached it without a full answer is `lost` (in doubt).
 */

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; received: string[] }> {
  const received: string[] = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      received.push(body);
      handler(req, res);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}/pay?x=1`, received };
}

const post = (url: string, extra: Partial<HttpRequest> = {}): HttpRequest => ({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body: '{"amount":"1.00"}', ...extra });

describe('createHttpSender', () => {
  it('returns the answer with its status, body and Retry-After', async () => {
    const { url, received } = await serve((_req, res) => {
      res.writeHead(429, { 'retry-after': '3' });
      res.end('{"error":"slow down"}');
    });
    const result = await createHttpSender({ timeoutMs: 2000 })(post(url));
    expect(result).toEqual({ kind: 'response', status: 429, retryAfterMs: 3000, text: '{"error":"slow down"}' });
    expect(received).toEqual(['{"amount":"1.00"}']);
  });

  it('a refused connection is not-sent', async () => {
    const { url } = await serve(() => {});
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
    const result = await createHttpSender({ timeoutMs: 2000 })(post(url));
    expect(result).toEqual({ kind: 'not-sent', error: 'ECONNREFUSED' });
  });

  it('a connection cut after the request arrived is lost', async () => {
    const { url, received } = await serve((req) => req.socket.destroy());
    const result = await createHttpSender({ timeoutMs: 2000 })(post(url));
    expect(result.kind).toBe('lost');
    expect(received).toHaveLength(1);
  });

  it('no answer within the timeout is lost, and says so', async () => {
    const { url, received } = await serve(() => {});
    const result = await createHttpSender({ timeoutMs: 300 })(post(url));
    expect(result).toEqual({ kind: 'lost', error: 'no answer within 300 ms' });
    expect(received).toHaveLength(1);
  });

  it('a beforeSend that refuses stops the request before it leaves', async () => {
    const { url, received } = await serve((_req, res) => res.end('{}'));
    const refusal = new Error('the ledger says final');
    await expect(createHttpSender({ timeoutMs: 2000 })(post(url, { beforeSend: () => Promise.reject(refusal) }))).rejects.toBe(refusal);
    expect(received).toEqual([]);
  });

  it('keeps connections open: requests one after another do not each open one', async () => {
    const sockets = new Set<unknown>();
    const { url } = await serve((req, res) => {
      sockets.add(req.socket);
      res.end('{}');
    });
    const send = createHttpSender({ timeoutMs: 2000 });
    for (let i = 0; i < 10; i += 1) expect((await send(post(url))).kind).toBe('response');
    // The second may open one more: the first connection is released just after its answer is read.
    expect(sockets.size).toBeLessThanOrEqual(2);
  });
});
