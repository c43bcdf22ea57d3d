/**
 * CPU layouts for the re-encryption section: where the database server and dbwarden run.
 *
 * - `shared`: both on every core, as the machine comes. On a small machine the server's CPU per
 *   row then adds to the crypto's, and the ratio to the crypto floor is bounded by
 *   crypto / (crypto + database), whatever the engine does.
 * - `separate`: the database server (its process and every child and thread) pinned to the last
 *   core, this process (main thread, crypto workers, and any child it starts) to the others. That
 *   is the usual deployment (a deploy job on its own machine or pod, the server elsewhere) made
 *   on one machine; the crypto floor is then measured on the cores dbwarden has, since
 *   `os.availableParallelism()` (and so the pool's worker count) follows the affinity mask.
 *
 * Pinning uses util-linux's `taskset`; where it is missing, or the machine has one core, the
 * separate layout cannot run and the benchmark says so.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export const LAYOUTS = ['separate', 'shared'] as const;
export type LayoutName = (typeof LAYOUTS)[number];

export interface Layout {
  readonly name: LayoutName;
  /** For the report, e.g. "database server on CPU 1, dbwarden on CPU 0". */
  readonly description: string;
  /** Pins the server (by its main process id) and this process; returns what undoes it. */
  enter(serverPid: number): () => void;
}

/** The CPUs this process may run on, from `taskset -pc` (e.g. "0-3,6"). */
function allowedCpus(): number[] {
  const out = execFileSync('taskset', ['-pc', String(process.pid)], { encoding: 'utf8' });
  const list = out.split(':').pop()?.trim() ?? '';
  return list.split(',').flatMap((part) => {
    const [from, to] = part.split('-').map(Number);
    if (from === undefined || Number.isNaN(from)) return [];
    return Array.from({ length: (to ?? from) - from + 1 }, (_, i) => from + i);
  });
}

/** The process and all its descendants (PostgreSQL forks a process per connection and helper). */
function processTree(root: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
  }
  const tree: number[] = [];
  const queue = [root];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    tree.push(pid);
    queue.push(...(parents.get(pid) ?? []));
  }
  return tree;
}

/** Every thread of one process; threads and children it starts later inherit the mask. */
function pinProcess(pid: number, cpus: readonly number[]): void {
  try {
    execFileSync('taskset', ['-a', '-pc', cpus.join(','), String(pid)], { stdio: 'ignore' });
  } catch (err) {
    // A process that exited between listing and pinning needs no pinning.
    if (existsPid(pid)) throw err;
  }
}

/** The server and every process it started (PostgreSQL forks one per connection and helper). */
function pinTree(root: number, cpus: readonly number[]): void {
  for (const pid of processTree(root)) pinProcess(pid, cpus);
}

function existsPid(pid: number): boolean {
  try {
    readFileSync(`/proc/${pid}/stat`);
    return true;
  } catch {
    return false;
  }
}

/** The layouts that can run here, and for each that cannot, why. */
export function layouts(names: readonly LayoutName[]): { runnable: Layout[]; skipped: string[] } {
  const runnable: Layout[] = [];
  const skipped: string[] = [];
  for (const name of names) {
    if (name === 'shared') {
      runnable.push({
        name,
        description: 'database server and dbwarden on every core',
        enter: () => () => undefined,
      });
      continue;
    }
    let cpus: number[];
    try {
      cpus = allowedCpus();
    } catch {
      skipped.push('separate: needs `taskset` (util-linux) to pin processes to cores; not run');
      continue;
    }
    const server = cpus.at(-1);
    if (cpus.length < 2 || server === undefined) {
      skipped.push(`separate: needs at least 2 cores, this process may use ${cpus.length}; not run`);
      continue;
    }
    const own = cpus.slice(0, -1);
    runnable.push({
      name,
      description: `database server pinned to CPU ${server}, dbwarden (main thread and crypto workers) to CPU ${own.join(',')}`,
      enter: (serverPid) => {
        // This process alone, not its tree: the database servers are its children too.
        pinTree(serverPid, [server]);
        pinProcess(process.pid, own);
        return () => {
          pinProcess(process.pid, cpus);
          pinTree(serverPid, cpus);
        };
      },
    });
  }
  return { runnable, skipped };
}
