import { startSandbox, type RunningSandbox } from '../sandbox/index.js';
import { providerIds } from '../providers/index.js';
import { getAdapter } from '../providers/index.js';

/**
 * `stipend sandbox`: the built-in provider sandboxes on their default ports, which is where the
 * configuration without a file points. Runs until SIGINT/SIGTERM.
 */
export async function sandboxCommand(options: { provider?: string[]; rateLimit?: boolean }): Promise<number> {
  const providers = options.provider?.length ? options.provider.map((p) => getAdapter(p).id) : providerIds();
  const running: RunningSandbox[] = [];
  for (const provider of providers) {
    const sandbox = await startSandbox(provider, options.rateLimit === false ? { rateLimit: null } : { rateLimit: getAdapter(provider).defaultRateLimit });
    running.push(sandbox);
    process.stdout.write(`${getAdapter(provider).name} sandbox: ${sandbox.url} (transactions: ${sandbox.url}/__sandbox/transactions)\n`);
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await Promise.all(running.map((s) => s.close()));
  return 0;
}
