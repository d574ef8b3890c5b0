import { vi } from 'vitest';

/** What a command printed while it ran in this process, and the exit code it returned. */
export async function printed(command: () => Promise<number>): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    return { code: await command(), stdout, stderr };
  } finally {
    vi.restoreAllMocks();
  }
}
