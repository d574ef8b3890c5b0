import { UsageError } from '../errors.js';
import { getAdapter } from '../providers/index.js';
import { redactUrl } from '../redact-url.js';
import { DEFAULT_SANDBOX_PORT_BASE, type RunningSandbox, SANDBOX_PORT_ORDER, sandboxPorts, startSandbox } from '../sandbox/index.js';

/**
 * `stipend sandbox`: the built-in provider sandboxes, by default on the ports the configuration
 * without a file points at; `--port-base <n>` moves them to n, n+1, … (in SANDBOX_PORT_ORDER) so a
 * second set can run beside the first. Runs until SIGINT/SIGTERM.
 */
export async function sandboxCommand(options: { provider?: string[]; rateLimit?: boolean; portBase?: string }): Promise<number> {
  const ports = sandboxPorts(options.portBase === undefined ? DEFAULT_SANDBOX_PORT_BASE : parsePortBase(options.portBase));
  const providers = options.provider?.length ? options.provider.map((p) => getAdapter(p).id) : SANDBOX_PORT_ORDER;
  const running: RunningSandbox[] = [];
  try {
    for (const provider of providers) {
      // The provider's limit itself: the client-side margin is the workers' business, not the provider's.
      const { max, perMs } = getAdapter(provider).defaultRateLimit;
      const sandbox = await startSandbox(provider, { port: ports[provider], rateLimit: options.rateLimit === false ? null : { max, perMs } });
      running.push(sandbox);
      const url = redactUrl(sandbox.url);
      process.stdout.write(`${getAdapter(provider).name} sandbox: ${url} (transactions: ${url}/__sandbox/transactions)\n`);
    }
  } catch (error) {
    await Promise.all(running.map((s) => s.close()));
    throw error;
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await Promise.all(running.map((s) => s.close()));
  return 0;
}

/**
 * `--port-base`: every sandbox's port, base to base+4, must be one a server can listen on (1–65535;
 * 0 would ask the system for any free port, which is no base).
 */
export function parsePortBase(value: string): number {
  const highest = 65_535 - (SANDBOX_PORT_ORDER.length - 1);
  const base = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(base >= 1 && base <= highest)) {
    throw new UsageError(`--port-base must be a whole number from 1 to ${highest} (the sandboxes listen on base to base+${SANDBOX_PORT_ORDER.length - 1}), not ${value}`);
  }
  return base;
}
