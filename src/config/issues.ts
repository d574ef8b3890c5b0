import type { z } from 'zod';

/** A zod error as one line: up to five keys (under `base`) and their problems, never the values. */
export function describeIssues(source: string, error: z.ZodError, base: readonly string[] = []): string {
  const lines = error.issues.slice(0, 5).map((issue) => {
    const key = [...base, ...issue.path.map(String)].join('.') || '(top level)';
    // Values are never echoed: a credential may be among them.
    return `${key}: ${issue.message}`;
  });
  return `${source}: ${lines.join('; ')}`;
}
