import type { Account } from './config/load.js';
import type { StipendContext } from './context.js';
import type { Logger } from './log.js';

/**
 * What the CLI needs of the worker side: starting workers in this process (`stipend worker`,
 * `--with-worker`, the demo). The worker side lives in jobs/ and imports from src/, never the other
 * way round, so the executable hands it to the CLI (runCli) instead of the CLI importing it.
 */
export interface WorkerSide {
  /**
   * Starts one worker per account, the sweeper and the scheduled runs' worker. Refuses before
   * anything connects where an account's ${VARS} are unset or Redis could lose a sending mark.
   */
  startWorkers(context: StipendContext, accounts: Account[], log: Logger): Promise<RunningWorkers>;
}

export interface RunningWorkers {
  accounts: Account[];
  /**
   * Stops taking jobs, lets payments in flight finish, then disconnects: `finished`. With Redis
   * unreachable nothing can be recorded and BullMQ's close would wait for it for ever (its timers
   * with it), so once every call in flight has ended (the accounts' timeoutMs, and a little) this
   * gives up waiting: `redis-unreachable`, and the process should end.
   */
  close(): Promise<WorkersStop>;
}

export type WorkersStop = 'finished' | 'redis-unreachable';
