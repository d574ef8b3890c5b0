import { ConfigError } from '../errors.js';

/** `${NAME}` in a configuration string stands for the environment variable NAME. */
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Whether a configuration string names an environment variable (String.search ignores the /g state). */
export function namesEnv(value: string): boolean {
  return value.search(REFERENCE) !== -1;
}

/** Keys left as written, their ${VARS} filled in only when they are used: true for their path from the top of the file. */
export type FilledLater = (path: readonly string[]) => boolean;

/**
 * Replaces ${NAME} in every string with the environment variable, naming the key and the variable
 * (never a value) when it is unset. Keys `later` picks are left as written.
 */
export function fillEnv(value: unknown, path: string[], env: NodeJS.ProcessEnv, source: string, later: FilledLater = () => false): unknown {
  if (later(path)) return value;
  if (typeof value === 'string') {
    return value.replace(REFERENCE, (_, name: string) => {
      const found = env[name];
      if (found === undefined) throw new ConfigError(`${source}: ${path.join('.')}: environment variable ${name} is not set`);
      return found;
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => fillEnv(item, [...path, String(i)], env, source, later));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillEnv(v, [...path, k], env, source, later)]));
  }
  return value;
}
