#!/usr/bin/env node
import { runCli } from '../src/cli.js';

/**
 * The stipend executable: the CLI with the worker side plugged in. The workers' modules (BullMQ, the
 * providers, the sweeper) load only when a command starts workers, so `--help` answers at once.
 */
await runCli({ startWorkers: async (...args) => (await import('./workers.js')).startWorkers(...args) });
