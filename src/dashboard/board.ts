import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import { Router, type RequestHandler } from 'express';

/**
 * bull-board over the given queues, served under `basePath`. Read-only, bull-board itself refuses
 * every action (405). With actions allowed, people may pause, retry, promote or clean jobs, all of
 * which the ledger makes safe; but adding a job or rewriting one's data is refused still: a
 * payment job's data is what gets paid, and it must come from a validated manifest.
 */
export function bullBoard(queues: Queue[], options: { basePath: string; readOnly: boolean }): Router {
  const adapter = new ExpressAdapter().setBasePath(options.basePath);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: options.readOnly })),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'stipend-batch' } },
  });
  const refuse: RequestHandler = (_request, response) => {
    response.status(403).json({ error: 'jobs are made from validated manifests only; none can be added or have its data changed here' });
  };
  const router = Router();
  router.post('/api/queues/:queueName/add', refuse);
  router.patch('/api/queues/:queueName/:jobId/update-data', refuse);
  router.use(adapter.getRouter() as RequestHandler);
  return router;
}
