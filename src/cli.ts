import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { STATUS_EVERY_MS, parseDuration } from './commands/duration.js';
import { EXIT } from './commands/exit-codes.js';
import { StipendError } from './errors.js';
import type { WorkerSide } from './worker-side.js';

/**
 * The `stipend` command, run on this process's arguments. Exit codes are in commands/exit-codes.ts.
 * Each command's module is imported only when that command runs, so `--help` and a mistyped flag
 * answer at once. `workerSide` starts workers for the commands that run them in this process
 * (worker, run and retry --with-worker, watch --with-worker, demo).
 */
export async function runCli(workerSide: WorkerSide): Promise<void> {
  const program = new Command('stipend')
    .description('Bulk stipend payments from CSV manifests to prepaid-card providers, exactly once, reconciled.')
    .addOption(new Option('--config <file>', 'configuration file (default: $STIPEND_CONFIG, ./stipend.config.json, else the built-in sandbox accounts)'))
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`stipend: ${text.replace(/^error: /, '')}`) });

  const config = () => program.opts<{ config?: string }>().config;

  // A batch id names a report folder and Redis keys: one from the command line is checked before its
  // command runs (ledger/batch-id.ts), so `report ../../etc` is one line, exit 2, nothing touched.
  program.hook('preAction', async (_program, action) => {
    const at = action.registeredArguments.findIndex((argument) => argument.name() === 'batchId');
    if (at !== -1) (await import('./ledger/batch-id.js')).checkBatchId(String(action.processedArgs[at]));
  });

  program
    .command('validate <file>')
    .description('check a manifest against the provider\'s field rules; pays nothing')
    .requiredOption('--provider <id>', 'provider: ctpayer, ptapi, ontraport, clientpay, virtualrx')
    .option('--json', 'machine-readable output')
    .action(async (file: string, options) => exit(await (await import('./commands/validate.js')).validateCommand(file, options)));

  program
    .command('run <file>')
    .description('validate, queue and pay a manifest, wait until every row is final, write the report')
    .requiredOption('--provider <id>', 'provider: ctpayer, ptapi, ontraport, clientpay, virtualrx')
    .option('--account <name>', 'provider account (required when the provider has several)')
    .option('--out <dir>', 'report folder (default: reportsDir from the configuration, else ./reports)')
    .option('--allow-partial', 'pay the valid rows and list the rejected ones (rejected.csv beside the report), instead of rejecting the manifest')
    .option('--dry-run', 'check everything run checks (rows, funding balance, approval, duplicates) and say what it would do; queue, record and pay nothing')
    .option('--allow-other-account', 'pay it although another account of the provider has this manifest or one of its payment ids')
    .option('--with-worker', 'also run a worker in this process (no separate `stipend worker` needed)')
    .option('--by <name>', 'a name shown beside you, the submitter (who you are is your operating-system user and host)')
    .addOption(maxWaitOption())
    .addOption(statusEveryOption())
    .action(async (file: string, options) => exit(await (await import('./commands/run.js')).runCommand(file, { ...options, config: config() }, workerSide)));

  program
    .command('watch <root>')
    .description('pay manifests dropped into <root>/inbox/<provider>/<account>/ (archive/, rejected/, duplicates/, outbox/ beside it)')
    .addOption(new Option('--stable-ms <ms>', 'a file is complete once its size is stable this long').default('2000').argParser(positiveInteger))
    .addOption(new Option('--concurrency <n>', 'files processed at once').default('4').argParser(positiveInteger))
    .option('--with-worker', 'also run workers for every account in this process')
    .action(async (root: string, options) => exit(await (await import('./commands/watch.js')).watchCommand(root, { ...options, config: config() }, workerSide)));

  const schedule = program.command('schedule').description('scheduled runs that pay what waits in a drop folder (run by the workers)');
  schedule
    .command('add <name>')
    .description('create or replace a schedule')
    .requiredOption('--cron <pattern>', 'when to run, e.g. "0 6 * * *" (06:00 every day)')
    .requiredOption('--dir <folder>', 'a drop folder root: files wait in <folder>/inbox/<provider>/<account>/')
    .requiredOption('--provider <id>', 'provider: ctpayer, ptapi, ontraport, clientpay, virtualrx')
    .option('--account <name>', 'provider account (required when the provider has several)')
    .action(async (name: string, options) => exit(await (await import('./commands/schedule.js')).scheduleAddCommand(name, { ...options, config: config() })));
  schedule
    .command('list')
    .description('the schedules and when each runs next')
    .action(async () => exit(await (await import('./commands/schedule.js')).scheduleListCommand({ config: config() })));
  schedule
    .command('remove <name>')
    .description('remove a schedule')
    .action(async (name: string) => exit(await (await import('./commands/schedule.js')).scheduleRemoveCommand(name, { config: config() })));

  const users = program.command('users').description('the people who may sign in to the console (stipend dashboard) and their roles');
  users
    .command('add <name>')
    .description('add a person; a password is generated and printed once')
    .requiredOption('--role <role>', 'viewer, submitter, approver or admin')
    .option('--password-stdin', 'read the password (one line) from standard input instead, for scripts')
    .action(async (name: string, options) => exit(await (await import('./commands/users.js')).usersAddCommand(name, { ...options, config: config() })));
  users
    .command('reset <name>')
    .description('give a person a new password (generated and printed once) and end their console sessions')
    .option('--password-stdin', 'read the password (one line) from standard input instead, for scripts')
    .action(async (name: string, options) => exit(await (await import('./commands/users.js')).usersResetCommand(name, { ...options, config: config() })));
  users
    .command('remove <name>')
    .description('remove a person and end their console sessions')
    .action(async (name: string) => exit(await (await import('./commands/users.js')).usersRemoveCommand(name, { config: config() })));
  users
    .command('list')
    .description('everyone with their role, who added them and when, and when their password was set')
    .option('--json', 'machine-readable output')
    .action(async (options) => exit(await (await import('./commands/users.js')).usersListCommand({ ...options, config: config() })));

  program
    .command('worker')
    .description('pay queued payments until stopped (SIGINT/SIGTERM finish the payments in flight)')
    .option('--provider <id>', 'only this provider\'s accounts')
    .option('--account <name>', 'only this account')
    .action(async (options) => exit(await (await import('./commands/worker.js')).workerCommand({ ...options, config: config() }, workerSide)));

  program
    .command('check')
    .description('prove each configured account\'s credentials with a call that moves no money')
    .option('--provider <id>', 'only this provider\'s accounts')
    .option('--account <name>', 'only this account')
    .action(async (options) => exit(await (await import('./commands/check.js')).checkCommand({ ...options, config: config() })));

  program
    .command('sandbox')
    .description('run the built-in provider sandboxes on their default ports')
    .option('--provider <id...>', 'only these providers')
    .option('--no-rate-limit', 'do not enforce the providers\' rate limits')
    .option('--port-base <n>', 'listen on n (CT Payer), n+1 (PT API), n+2 (ONTRAPORT), n+3 (ClientPay), n+4 (VirtualRx); default 4101, where the configuration without a file points')
    .action(async (options) => exit(await (await import('./commands/sandbox.js')).sandboxCommand(options)));

  program
    .command('dashboard')
    .description('the operations console (/console, each person signs in), bull-board (/queues), /metrics for Prometheus and /healthz')
    .option('--host <address>', 'address to listen on (0.0.0.0 for every interface)', '127.0.0.1')
    .addOption(new Option('--port <port>', 'port to listen on').default('4100').argParser(positiveInteger))
    .option('--allow-actions', 'let people pause, retry, promote and clean jobs (read-only by default)')
    .option('--no-auth', 'no sign-in for /queues and /metrics; only on a loopback address (the console always needs one)')
    .action(async (options) => exit(await (await import('./commands/dashboard.js')).dashboardCommand({ ...options, config: config() })));

  program
    .command('status <batchId>')
    .description('where a batch stands')
    .option('--problems', 'list the rows that need action (unknown, failed, conflicts, declined, rejected), each with what to do next')
    .option('--json', 'machine-readable output')
    .action(async (batchId: string, options) => exit(await (await import('./commands/batch.js')).statusCommand(batchId, { ...options, config: config() })));

  program
    .command('report <batchId>')
    .description('write a batch\'s reconciliation report from the ledger')
    .option('--out <dir>', 'report folder')
    .action(async (batchId: string, options) => exit(await (await import('./commands/batch.js')).reportCommand(batchId, { ...options, config: config() })));

  program
    .command('resolve <batchId> <paymentId>')
    .description('settle an unknown payment, or a reversal_unknown, after checking with the provider')
    .option('--paid <reference>', 'it was paid: the provider\'s reference')
    .option('--not-paid', 'it was not paid (it can then be paid again with stipend retry)')
    .option('--reversed <reference>', 'its reversal went through: the provider\'s reference for it')
    .option('--not-reversed', 'its reversal did not go through (it is paid, and may be reversed again)')
    .requiredOption('--by <name>', 'who checked and settles it (recorded)')
    .action(async (batchId: string, paymentId: string, options) => exit(await (await import('./commands/settle.js')).resolveCommand(batchId, paymentId, { ...options, config: config() })));

  program
    .command('reverse <batchId>')
    .description('give paid payments back through the provider (CT Payer chargecard, VirtualRx VoidPayment), each at most once')
    .option('--payment-id <id...>', 'the payments to reverse')
    .option('--all', 'every paid payment of the batch')
    .requiredOption('--reason <text>', 'why (sent to the provider where it takes one; CT Payer: at most 45 characters)')
    .option('--by <name>', 'who reverses (recorded; default: your user name)')
    .action(async (batchId: string, options) => exit(await (await import('./commands/reverse.js')).reverseCommand(batchId, { ...options, config: config() })));

  program
    .command('approve <batchId>')
    .description('release a batch awaiting approval (a person other than its submitter, by operating-system user and host)')
    .option('--by <name>', 'a name shown beside you (recorded; approval compares your operating-system user and host, never this)')
    .action(async (batchId: string, options) => exit(await (await import('./commands/settle.js')).approveCommand(batchId, { ...options, config: config() })));

  program
    .command('cancel <batchId>')
    .description('drop a batch awaiting approval (nothing is sent), or abandon an interrupted enqueue (what it queued is paid, the rest released)')
    .option('--by <name>', 'a name shown beside you (recorded with your operating-system user and host)')
    .action(async (batchId: string, options) => exit(await (await import('./commands/settle.js')).cancelCommand(batchId, { ...options, config: config() })));

  program
    .command('retry <batchId>')
    .description('send a batch\'s failed payments (nothing applied) again, then wait and write the report; never unknown ones')
    .option('--out <dir>', 'report folder')
    .option('--with-worker', 'also run a worker in this process')
    .addOption(maxWaitOption())
    .addOption(statusEveryOption())
    .action(async (batchId: string, options) => exit(await (await import('./commands/settle.js')).retryCommand(batchId, { ...options, config: config() }, workerSide)));

  const exportGroup = program
    .command('export')
    .description('payments settled between two dates (UTC) across batches, with totals per group, as CSV; `export tax` for the year per participant')
    // Not requiredOption: commander would demand them of `export tax` too.
    .option('--from <date>', 'first day, e.g. 2026-11-01 (required)')
    .option('--to <date>', 'last day, included (required)')
    .option('--group-by <field>', 'provider, account, groupId or batch', 'provider')
    .option('--out <file>', 'the payments file; the totals go beside it as <name>.totals.csv')
    .option('--with-audit', 'also write the period\'s audit trail (who decided what) beside it as <name>.audit.csv')
    .action(async (options) => exit(await (await import('./commands/export.js')).exportCommand({ ...options, config: config() })));
  exportGroup
    .command('tax')
    .description('year-to-date totals per participant across providers, flagged at the year\'s information-return threshold; reimbursements kept out')
    .requiredOption('--year <yyyy>', 'the tax year (UTC), e.g. 2026')
    .option('--out <file>', 'the CSV file to write (default: <reportsDir>/tax-<year>.csv)')
    // Commander gives `export` the --out written after `tax` (both have one): it is the tax file all the same.
    .action(async (options) => exit(await (await import('./commands/export.js')).taxExportCommand({ ...options, out: options.out ?? exportGroup.opts().out, config: config() })));

  program
    .command('audit')
    .description('the audit trail: every decision (submitted, held, approved, canceled, abandoned, retried, resolved, reversed), who made it, when, from which host')
    .option('--batch <id>', 'only this batch\'s')
    .option('--from <date>', 'from this day (UTC), e.g. 2026-11-01')
    .option('--to <date>', 'up to this day (UTC), included')
    .option('--json', 'machine-readable output')
    .action(async (options) => exit(await (await import('./commands/audit.js')).auditCommand({ ...options, config: config() })));

  program
    .command('archive')
    .description('move settled batches out of Redis into checksummed files under archive.dir (status, reports, exports and audit keep reading them); workers do it daily on their own')
    .option('--older-than <days>', 'batches submitted more than this many days ago (default: archive.olderThanDays, 90)')
    .action(async (options) => exit(await (await import('./commands/archive.js')).archiveCommand({ ...options, config: config() })));

  program
    .command('upgrade-keys')
    .description('rename a ledger written by a version before 2026-12 (one Redis) into today\'s key layout; stop every worker first')
    .action(async (options) => exit(await (await import('./commands/upgrade-keys.js')).upgradeKeysCommand({ ...options, config: config() })));

  const cards = program.command('cards').description('CT Payer cards: assign them to participants, cancel them');
  cards
    .command('assign <manifest>')
    .description('assign cards to participants from a CSV with cardId and participantId columns, validated first; writes a report')
    .option('--account <name>', 'CT Payer account (required when there are several)')
    .option('--out <file>', 'the report (default: <reportsDir>/cards-assign-<name>-<time>.csv)')
    .action(async (file: string, options) => exit(await (await import('./commands/cards.js')).cardsAssignCommand(file, { ...options, config: config() })));
  cards
    .command('cancel <cardId>')
    .description('cancel a card for good (setcardstatus); refused while the card holds money unless --with-balance')
    .requiredOption('--reason <text>', 'why, up to 45 characters (e.g. "Lost card")')
    .option('--account <name>', 'CT Payer account (required when there are several)')
    .option('--with-balance', 'cancel even though the card still holds money')
    .action(async (cardId: string, options) => exit(await (await import('./commands/cards.js')).cardsCancelCommand(cardId, { ...options, config: config() })));

  program
    .command('demo')
    .description('pay the sample manifests through the built-in sandboxes (needs only Redis)')
    .option('--out <dir>', 'report folder', 'reports/demo')
    .action(async (options) => exit(await (await import('./commands/demo.js')).demoCommand(options, workerSide)));

  try {
    await program.parseAsync();
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    } else if (error instanceof StipendError) {
      process.stderr.write(`stipend: ${error.message}\n`);
      process.exitCode = EXIT.usage;
    } else {
      // Loaded only now: --help and every command that ends well never load it.
      const { describeUnexpected } = await import('./commands/unexpected-error.js');
      process.stderr.write(describeUnexpected(error));
      process.exitCode = EXIT.internal;
    }
  }
}

function maxWaitOption(): Option {
  return new Option('--max-wait <duration>', `stop waiting after this long, e.g. 90s or 10m (exit code ${EXIT.maxWait}); the payments not final stay queued for the workers`).argParser(parseDuration);
}

function statusEveryOption(): Option {
  return new Option('--status-every <duration>', 'how often a line says what waits and why').default(STATUS_EVERY_MS, '1m').argParser(parseDuration);
}

function positiveInteger(value: string): string {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError('must be a whole number above zero');
  return value;
}

function exit(code: number): void {
  process.exitCode = code;
}
