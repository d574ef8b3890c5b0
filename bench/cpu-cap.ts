import { access, mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * CPU caps on processes, each in a cgroup of its own (the kernel's CFS bandwidth control): a capped
 * process gets at most `cores` of CPU time per period, however idle the machine is. cgroup v2's
 * `cpu.max` where the unified hierarchy has the cpu controller, else cgroup v1's `cpu` hierarchy.
 * Needs the right to make cgroups (root, here).
 */
export interface CpuCaps {
  /** Caps every process at `cores` (0.25: a quarter of one core), or lifts the caps (undefined). */
  set(cores: number | undefined): Promise<void>;
  /** Lifts the caps and removes the cgroups; the processes go back where they were. */
  release(): Promise<void>;
}

const PERIOD_US = 100_000;

/** The caps, or why this machine cannot make them. */
export async function cpuCaps(pids: number[], name: string): Promise<CpuCaps | { unavailable: string }> {
  const hierarchy = await findHierarchy();
  if (typeof hierarchy === 'string') return { unavailable: hierarchy };
  const groups: { dir: string; pid: number; from: string }[] = [];
  try {
    for (const pid of pids) {
      const dir = join(hierarchy.root, `${name}-${pid}`);
      await mkdir(dir, { recursive: true });
      groups.push({ dir, pid, from: await cgroupOf(pid, hierarchy.version) });
      await writeFile(join(dir, 'cgroup.procs'), String(pid));
    }
  } catch (error) {
    await releaseAll(groups, hierarchy.root);
    return { unavailable: `cannot make cgroups under ${hierarchy.root} (${(error as Error).message})` };
  }
  return {
    async set(cores) {
      for (const { dir } of groups) await hierarchy.setQuota(dir, cores === undefined ? undefined : Math.round(cores * PERIOD_US));
    },
    release: () => releaseAll(groups, hierarchy.root),
  };
}

interface Hierarchy {
  version: 1 | 2;
  root: string;
  setQuota(dir: string, quotaUs: number | undefined): Promise<void>;
}

async function findHierarchy(): Promise<Hierarchy | string> {
  const v2 = '/sys/fs/cgroup';
  const controllers = await readFile(join(v2, 'cgroup.controllers'), 'utf8').catch(() => '');
  if (controllers.split(/\s+/).includes('cpu')) {
    await writeFile(join(v2, 'cgroup.subtree_control'), '+cpu').catch(() => {});
    return {
      version: 2,
      root: v2,
      setQuota: (dir, quota) => writeFile(join(dir, 'cpu.max'), `${quota ?? 'max'} ${PERIOD_US}`),
    };
  }
  const v1 = '/sys/fs/cgroup/cpu';
  if (await access(join(v1, 'cpu.cfs_quota_us')).then(() => true, () => false)) {
    return {
      version: 1,
      root: v1,
      async setQuota(dir, quota) {
        await writeFile(join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
        await writeFile(join(dir, 'cpu.cfs_quota_us'), String(quota ?? -1));
      },
    };
  }
  return 'this machine has no cgroup cpu controller';
}

/** The cgroup (path under the hierarchy's root) the process is in now, to put it back there. */
async function cgroupOf(pid: number, version: 1 | 2): Promise<string> {
  const lines = (await readFile(`/proc/${pid}/cgroup`, 'utf8')).trim().split('\n');
  const line = version === 2 ? lines.find((l) => l.startsWith('0::')) : lines.find((l) => l.split(':')[1]!.split(',').includes('cpu'));
  return line?.split(':').slice(2).join(':') ?? '/';
}

async function releaseAll(groups: { dir: string; pid: number; from: string }[], root: string): Promise<void> {
  for (const { dir, pid, from } of groups) {
    // A process that has exited leaves its cgroup empty; one still running goes back.
    await writeFile(join(root, from, 'cgroup.procs'), String(pid)).catch(() => {});
    await rmdir(dir).catch(() => {});
  }
}
