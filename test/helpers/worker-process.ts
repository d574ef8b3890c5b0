import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

// Workers still running when the test process ends (a test that failed or timed out before stopping
// them) are killed with it, so none lives on writing to Redis.
const spawned = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of spawned) child.kill('SIGKILL');
});

/** A `stipend worker` in its own process, as an operator would run it. */
export interface WorkerProcess {
  child: ChildProcess;
  /** Its structured log lines (stderr), parsed. */
  logs: Record<string, unknown>[];
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function spawnWorker(configFile: string, args: string[] = []): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'jobs/main.ts', '--config', configFile, 'worker', ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let buffered = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  spawned.add(child);
  const exited = once(child, 'exit').then(([code]) => {
    spawned.delete(child);
    return code as number | null;
  });
  // Ready once every account's worker has started.
  const deadline = Date.now() + 20_000;
  while (!logs.some((l) => l.msg === 'worker started')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`worker did not start: ${JSON.stringify(logs)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    child,
    logs,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
