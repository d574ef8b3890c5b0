import { getAdapter, providerIds } from '../providers/index.js';
import { type RunningSandbox, startSandbox } from '../sandbox/index.js';

/**
 * `stipend sandbox`: the built-in provider sandboxes on their default ports, which is where the
 * configuration without a file points. Runs until SIGINT/SIGTERM.
 */
export async function sandboxCommand(options: { provider?: string[]; rateLimit?: boolean }): Promise<number> {
  const providers = options.provider?.length ? options.provider.map((p) => getAdapter(p).id) : providerIds();
  const running: RunningSandbox[] = [];
  try {
    for (const provider of providers) {
      // The provider's limit itself: the client-side margin is the workers' business, not the provider's.
      const { max, perMs } = getAdapter(provider).defaultRateLimit;
      const sandbox = await startSandbox(provider, { rateLimit: options.rateLimit === false ? null : { max, perMs } });
      running.push(sandbox);
      process.stdout.write(`${getAdapter(provider).name} sandbox: ${sandbox.url} (transactions: ${sandbox.url}/__sandbox/transactions)\n`);
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
