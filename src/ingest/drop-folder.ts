import { lstat, mkdir, readdir, rename } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { type Account, findAccount, type ResolvedConfig } from '../config/load.js';
import { StipendError } from '../errors.js';
import { joinInside } from '../join-inside.js';

/**
 * The drop folder's layout. A file is dropped into inbox/<provider>/<account>/ (or
 * inbox/<provider>/ when the provider has one account), claimed by moving it into processing/, and
 * ends in archive/ (paid; its report in outbox/), rejected/ (with <name>.errors.csv) or
 * duplicates/ (with <name>.duplicate.txt). Every stage keeps the provider/account folders.
 */
export const STAGES = ['inbox', 'processing', 'archive', 'rejected', 'duplicates', 'outbox'] as const;
export type Stage = (typeof STAGES)[number];

/** A manifest file somewhere in the drop folder, and the account it is for. */
export interface DroppedFile {
  /** Path below the stage folder: <provider>/<account>/<name>. */
  relativePath: string;
  account: Account;
  /** The file as people know it, below the root: where it was dropped (inbox/…) or found (processing/…). */
  shownAs: string;
}

export class DropFolderError extends StipendError {
  constructor(message: string) {
    super('DROP_FOLDER', message);
  }
}

export class DropFolder {
  constructor(
    readonly root: string,
    private readonly config: ResolvedConfig,
  ) {}

  async prepare(): Promise<void> {
    for (const stage of STAGES) await mkdir(join(this.root, stage), { recursive: true });
    for (const account of this.config.accounts) await mkdir(this.path('inbox', join(account.provider, account.name)), { recursive: true });
  }

  /** Where a file of a stage is; never outside that stage's folder (join-inside.ts). */
  path(stage: Stage, relativePath: string): string {
    return joinInside(join(this.root, stage), relativePath);
  }

  /** What a path in the inbox is for: inbox/<provider>/<name> or inbox/<provider>/<account>/<name>. */
  inboxFile(path: string): DroppedFile {
    const parts = relative(join(this.root, 'inbox'), path).split(sep);
    const [provider, accountName] = parts.length === 3 ? [parts[0]!, parts[1]] : [parts[0]!, undefined];
    if (parts.length < 2 || parts.length > 3) throw new DropFolderError('not in inbox/<provider>/ or inbox/<provider>/<account>/');
    const account = findAccount(this.config, provider, accountName);
    // Claimed names carry the claim time, so two drops of one name never meet in processing/.
    const stamp = new Date().toISOString().replace(/[-:.]/g, '').replace('T', '-').slice(0, 18);
    return { account, relativePath: join(account.provider, account.name, `${stamp}-${basename(path)}`), shownAs: relative(this.root, path) };
  }

  /** Moves a dropped file into processing/; false when another watcher took it first. */
  async claim(inboxPath: string, file: DroppedFile): Promise<boolean> {
    const target = this.path('processing', file.relativePath);
    await mkdir(dirname(target), { recursive: true });
    try {
      await rename(inboxPath, target);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  async move(from: Stage, to: Stage, relativePath: string): Promise<string> {
    const target = this.path(to, relativePath);
    await mkdir(dirname(target), { recursive: true });
    await rename(this.path(from, relativePath), target);
    return target;
  }

  /**
   * Complete manifests waiting in an account's inbox folder (and its provider's, when it is the only
   * account): every entry named *.csv, which ingestFile reads only if it is a regular file. A folder
   * that is a link is not listed: it would hand the run files from wherever it points.
   */
  async waitingInInbox(account: Account): Promise<string[]> {
    const dirs = [this.path('inbox', join(account.provider, account.name))];
    if (this.config.accounts.filter((a) => a.provider === account.provider).length === 1) dirs.push(this.path('inbox', account.provider));
    const found: string[] = [];
    for (const dir of dirs) {
      if (!(await lstat(dir).catch(() => undefined))?.isDirectory()) continue;
      const names = await readdir(dir).catch(() => [] as string[]);
      found.push(...names.filter(isManifestName).map((name) => join(dir, name)));
    }
    return found;
  }

  /** Files left in processing/ (a watcher stopped or crashed while they were under way). */
  async leftInProcessing(): Promise<DroppedFile[]> {
    const found: DroppedFile[] = [];
    for (const account of this.config.accounts) {
      const dir = this.path('processing', join(account.provider, account.name));
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const name of names) {
        if (!isManifestName(name)) continue;
        const relativePath = join(account.provider, account.name, name);
        found.push({ account, relativePath, shownAs: join('processing', relativePath) });
      }
    }
    return found;
  }
}

/** A finished manifest: *.csv. A file still being written under a temporary name is not one yet. */
export function isManifestName(name: string): boolean {
  return /\.csv$/i.test(name) && !name.startsWith('.');
}
