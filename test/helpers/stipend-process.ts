import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface StipendResult {
  /** The exit code; null when the command was still running at the deadline and was killed. */
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The `stipend` command in its own process, as an operator runs it. A command still running after
 * `deadlineMs` is killed (code null), so a command that would wait for ever fails its test instead
 * of hanging it. `input` is written to its standard input, which is then closed.
 */
export function stipend(args: string[], options: { env?: Record<string, string>; deadlineMs?: number; input?: string } = {}): Promise<StipendResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'jobs/main.ts', ...args], { cwd: ROOT, env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    if (options.input !== undefined) child.stdin.end(options.input);
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, options.deadlineMs ?? 45_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: killed ? null : code, stdout, stderr });
    });
  });
}
