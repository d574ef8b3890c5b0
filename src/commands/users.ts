import { personHere } from '../audit/actor.js';
import { loadConfig } from '../config/load.js';
import { openContext } from '../context.js';
import { UsageError } from '../errors.js';
import { generatePassword } from '../people/passwords.js';
import { People } from '../people/people.js';
import { ROLES, role } from '../people/roles.js';

/**
 * `stipend users`: the people who may sign in to the console (people/people.ts), managed at the
 * command line, where the first admin is added (`stipend users add admin --role admin`). The actor
 * in the audit trail is the operating-system user and host. A generated password is printed once;
 * `--password-stdin` takes one line from standard input instead (for scripts), so a password never
 * has to be typed on a command line, where `ps` and the shell's history would keep it.
 */

async function withPeople(configPath: string | undefined, work: (people: People) => Promise<number>): Promise<number> {
  const context = await openContext(await loadConfig({ path: configPath }));
  try {
    return await work(new People(context.redis, context.keys));
  } finally {
    await context.close();
  }
}

/** Longer than any password anyone means: stdin that is not one line is a mistake. */
const MAX_LINE = 1024;

async function passwordFromStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError('--password-stdin reads the password from a pipe, e.g. printf \'%s\\n\' "$PASSWORD" | stipend users add …; without it a password is generated');
  process.stdin.setEncoding('utf8');
  let text = '';
  for await (const chunk of process.stdin) {
    text += chunk as string;
    if (text.includes('\n') || text.length > MAX_LINE) break;
  }
  const line = text.split('\n')[0]!.replace(/\r$/, '');
  if (line.length > MAX_LINE) throw new UsageError(`--password-stdin: a password is one line of at most ${MAX_LINE} characters`);
  return line;
}

async function newPassword(fromStdin: boolean | undefined): Promise<{ password: string; generated: boolean }> {
  return fromStdin ? { password: await passwordFromStdin(), generated: false } : { password: generatePassword(), generated: true };
}

function printGenerated(name: string, password: string): void {
  process.stdout.write(`password: ${password}\nshown only this once: give it to ${name} privately; they sign in to the console with it\n`);
}

export async function usersAddCommand(name: string, options: { role: string; passwordStdin?: boolean; config?: string }): Promise<number> {
  const chosen = role.safeParse(options.role);
  if (!chosen.success) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
  const { password, generated } = await newPassword(options.passwordStdin);
  return withPeople(options.config, async (people) => {
    await people.add(name, chosen.data, password, personHere());
    process.stdout.write(`added ${name} as ${chosen.data}\n`);
    if (generated) printGenerated(name, password);
    return 0;
  });
}

export async function usersResetCommand(name: string, options: { passwordStdin?: boolean; config?: string }): Promise<number> {
  const { password, generated } = await newPassword(options.passwordStdin);
  return withPeople(options.config, async (people) => {
    await people.resetPassword(name, password, personHere());
    process.stdout.write(`reset ${name}'s password; their console sessions are ended\n`);
    if (generated) printGenerated(name, password);
    return 0;
  });
}

export function usersRemoveCommand(name: string, options: { config?: string }): Promise<number> {
  return withPeople(options.config, async (people) => {
    await people.remove(name, personHere());
    process.stdout.write(`removed ${name}; their console sessions are ended\n`);
    return 0;
  });
}

/** Everyone with their role, who added them and when, and when their password was last set; never a hash. */
export function usersListCommand(options: { json?: boolean; config?: string }): Promise<number> {
  return withPeople(options.config, async (people) => {
    const everyone = (await people.list()).map((p) => ({
      name: p.name, role: p.role, added_by: p.added_by, added: new Date(p.added_ms).toISOString(), password_set: new Date(p.password_set_ms).toISOString(),
    }));
    if (options.json) {
      process.stdout.write(`${JSON.stringify(everyone, null, 2)}\n`);
      return 0;
    }
    if (everyone.length === 0) process.stdout.write('no people yet; add the first admin with: stipend users add <name> --role admin\n');
    for (const p of everyone) process.stdout.write(`${p.name}\t${p.role}\tadded by ${p.added_by} ${p.added}\tpassword set ${p.password_set}\n`);
    return 0;
  });
}
