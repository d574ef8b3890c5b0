import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../jobs/main.js', import.meta.url));

/** A built `stipend worker` in its own process, as an operator runs it; stopped with SIGTERM. */
export interface WorkerProcess {
  stop(): Promise<void>;
}

export async function spawnWorker(configFile: string): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [CLI, '--config', configFile, 'worker'], {
    env: { ...process.env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = once(child, 'exit');
  await started(child);
  return {
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Resolves once the worker logged that its account's worker started; rejects if it exits first. */
function started(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      if (log.length < 100_000) log += chunk;
      if (log.includes('"msg":"worker started"')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`stipend worker exited (${code}) before it started: ${log.slice(-2000)}`)));
  });
}
