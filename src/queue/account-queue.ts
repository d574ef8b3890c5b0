import { Queue } from 'bullmq';
import type { RedisClient } from '../redis/connection.js';
import type { Account } from '../config/load.js';
import type { Logger } from '../log.js';
import { logBullErrors } from './bull-errors.js';
import { paymentQueueOptions, queueName } from './payment-job.js';

/**
 * The payment queue of an account, as every producer opens it: with the payment queue's options
 * (its events cap holds only if every Queue of it is made with them) and its errors logged (without
 * a listener, BullMQ's first `error` ends the process). `log`: the caller's logger, else one on
 * stderr. The caller closes it.
 */
export function openAccountQueue(connection: RedisClient, prefix: string, account: Pick<Account, 'provider' | 'name'>, log?: Logger): Queue {
  const name = queueName(account);
  return logBullErrors(new Queue(name, paymentQueueOptions(connection, prefix, account)), { queue: name }, log);
}
