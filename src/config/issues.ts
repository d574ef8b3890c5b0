import type { z } from 'zod';

/** A zod error as one line: up to five keys (under `base`) and their problems, never the values. */
export function describeIssues(source: string, error: z.ZodError, base: readonly string[] = []): string {
  const lines = error.issues.slice(0, 5).map((issue) => {
    const path = [...base, ...issue.path.map(String)];
    // A key its record refuses (an account name): named under the key above it, with the rule it breaks.
    if (issue.code === 'invalid_key') return `${keyOf(path.slice(0, -1))}: ${shown(path.at(-1) ?? '')}: ${issue.issues.map((inner) => inner.message).join('; ')}`;
    // Values are never echoed: a credential may be among them.
    return `${keyOf(path)}: ${issue.message}`;
  });
  return `${source}: ${lines.join('; ')}`;
}

function keyOf(path: readonly string[]): string {
  return path.map(shown).join('.') || '(top level)';
}

/** A key as written when it is a plain name, else quoted and escaped (a key may hold `.`, `/` or control characters). */
function shown(key: string): string {
  return /^[A-Za-z0-9_$-]+$/.test(key) ? key : JSON.stringify(key);
}
