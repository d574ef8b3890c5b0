import type { Request, Response } from 'express';
import type { BatchLedger } from '../ledger/batches.js';
import type { Logger } from '../log.js';
import { batchFigures } from './batch-figures.js';

/**
 * /console/events: the batches' figures as server-sent events, one `batch` event per batch whose
 * figures changed. One loop per dashboard process reads the ledger about once a second for every
 * listener, so a hundred open pages cost Redis what one does; it runs only while someone listens.
 *
 * The batches read are the open ones (BatchLedger.openBatchIds) and those that changed recently: a
 * batch leaves the open set once settled, and its last change must still reach the pages.
 */

const POLL_MS = 1000;
const HEARTBEAT_MS = 15_000;
/** How long a batch that left the open set is still read after its last change. */
const RECENT_MS = 60_000;
/** Listeners one process serves; beyond, 503 (EventSource tries again later). */
const MAX_CLIENTS = 100;
/**
 * A stream ends after this long and the browser reconnects (EventSource does by itself), through
 * the sign-in check again: a person signed out, removed or demoted stops receiving within it.
 */
const STREAM_MS = 5 * 60_000;
/** A listener this far behind (bytes not taken) is dropped rather than buffered for. */
const MAX_BACKLOG = 1 << 20;

interface Seen {
  json: string;
  changedMs: number;
}

export class BatchEvents {
  private readonly clients = new Set<Response>();
  private readonly seen = new Map<string, Seen>();
  private running = false;
  private lastBeatMs = 0;

  constructor(
    private readonly batches: BatchLedger,
    private readonly log: Logger,
  ) {}

  /** Answers the request with the stream: every figure known at once, then the changes. */
  subscribe(request: Request, response: Response): void {
    if (this.clients.size >= MAX_CLIENTS) {
      response.status(503).set('Retry-After', '30').type('text/plain').send('too many live pages on this dashboard; the figures will update when you reload later\n');
      return;
    }
    response.status(200).set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' });
    response.flushHeaders();
    // A dropped connection comes back after 5 s rather than the browser's default 3.
    response.write('retry: 5000\n\n');
    this.clients.add(response);
    const ends = setTimeout(() => response.end(), STREAM_MS);
    const leave = () => {
      clearTimeout(ends);
      this.clients.delete(response);
    };
    request.on('close', leave);
    response.on('close', leave);
    for (const { json } of this.seen.values()) this.send(response, json);
    if (!this.running) {
      this.running = true;
      void this.loop();
    }
  }

  /** Polls while anyone listens; what it knew is forgotten when the last one leaves (it would go stale). */
  private async loop(): Promise<void> {
    while (this.clients.size > 0) {
      try {
        await this.poll();
      } catch (error) {
        // Redis away for a moment: the pages keep their last figures, and the next poll tries again.
        this.log.warn({ err: error }, 'console events: reading the batches failed');
      }
      if (this.clients.size === 0) break;
      const now = Date.now();
      if (now - this.lastBeatMs >= HEARTBEAT_MS) {
        this.lastBeatMs = now;
        // A comment: keeps proxies from closing a quiet stream, and finds dead connections.
        for (const client of this.clients) client.write(': heartbeat\n\n');
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS).unref());
    }
    this.seen.clear();
    this.running = false;
  }

  private async poll(): Promise<void> {
    const now = Date.now();
    const open = new Set(await this.batches.openBatchIds());
    for (const [batchId, { changedMs }] of this.seen) {
      if (!open.has(batchId) && now - changedMs > RECENT_MS) this.seen.delete(batchId);
    }
    const ids = [...new Set([...open, ...this.seen.keys()])];
    const records = await this.batches.getMany(ids);
    records.forEach((record, i) => {
      if (record === undefined) return;
      const json = JSON.stringify(batchFigures(record));
      if (this.seen.get(ids[i]!)?.json === json) return;
      this.seen.set(ids[i]!, { json, changedMs: now });
      for (const client of this.clients) this.send(client, json);
    });
  }

  private send(client: Response, json: string): void {
    if (client.writableLength > MAX_BACKLOG) {
      client.destroy();
      return;
    }
    client.write(`event: batch\ndata: ${json}\n\n`);
  }
}
