/**
 * The coldstart section of `npm run bench`: how long the compiled CLI takes from process start
 * to exit, for `dbwarden --version` (loading the CLI alone) and `dbwarden validate` on the shipped
 * Nova example (loading and validating a config and six policy files; no database). Each is a
 * fresh `node bin/dbwarden.js ...` process, timed from spawn to exit, median of --coldstarts runs,
 * interleaved with the baseline: a bare `node -e 0` started the same way, in the same run.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatMs, formatRatio, median } from './stats.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(root, 'bin', 'dbwarden.js');
const EXAMPLE = path.join(root, 'examples', 'nova', 'dbwarden.yaml');

export interface ColdStartMetric {
  readonly id: string;
  readonly label: string;
  readonly ms: number;
  readonly minMs: number;
  readonly maxMs: number;
  /** ms / the bare Node start's median. */
  readonly ratio: number | undefined;
  readonly notes: string;
}

interface Command {
  readonly id: string;
  readonly label: string;
  readonly args: readonly string[];
  readonly notes: string;
}

const BASELINE: Command = {
  id: 'coldstart.baseline.node',
  label: 'baseline: `node -e 0`',
  args: ['-e', '0'],
  notes: 'a Node process that does nothing: the floor for any Node CLI',
};

const COMMANDS: readonly Command[] = [
  {
    id: 'coldstart.version',
    label: '`dbwarden --version`',
    args: [BIN, '--version'],
    notes: 'the compiled CLI loaded (commander, the command table), nothing read',
  },
  {
    id: 'coldstart.validate',
    label: '`dbwarden validate` (Nova example)',
    args: [BIN, 'validate', '--config', EXAMPLE],
    notes:
      'examples/nova/dbwarden.yaml and the six policy files of policies/nova read and validated; no database',
  },
];

/** One process from spawn to exit, in ms; a non-zero exit fails the benchmark. */
function timeOnce(command: Command): number {
  const start = performance.now();
  // NO_COLOR and a piped stdout: the CLI's plain output path, as in a deploy job.
  const result = spawnSync(process.execPath, [...command.args], {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1' },
    encoding: 'utf8',
  });
  const ms = performance.now() - start;
  if (result.status !== 0) {
    throw new Error(
      `${command.label} exited ${result.status}: ${result.stderr.trim().split('\n').at(-1) ?? ''}`,
    );
  }
  return ms;
}

export function benchColdStart(runs: number, progress: (text: string) => void): ColdStartMetric[] {
  progress(`cold start: ${runs} runs each of ${[BASELINE, ...COMMANDS].map((c) => c.label).join(', ')}`);
  const commands = [BASELINE, ...COMMANDS];
  const times = new Map(commands.map((c) => [c.id, [] as number[]]));
  // One warm-up each: the first start reads the files from disk, later ones from the page cache.
  for (const command of commands) timeOnce(command);
  for (let i = 0; i < runs; i++) {
    for (const command of commands) times.get(command.id)?.push(timeOnce(command));
  }
  const baseline = median(times.get(BASELINE.id) ?? []);
  return commands.map((command) => {
    const all = times.get(command.id) ?? [];
    const ms = median(all);
    return {
      id: command.id,
      label: command.label,
      ms,
      minMs: Math.min(...all),
      maxMs: Math.max(...all),
      ratio: command === BASELINE ? undefined : ms / baseline,
      notes: `${command.notes}; median of ${all.length} (min ${formatMs(Math.min(...all))}, max ${formatMs(Math.max(...all))})`,
    };
  });
}

export function coldStartTable(metrics: readonly ColdStartMetric[]): string {
  const lines = ['| command | time | ratio to baseline | notes |', '|---|---:|---:|---|'];
  for (const m of metrics) {
    const ratio = m.ratio === undefined ? '' : `${formatRatio(m.ratio)} bare Node start`;
    lines.push(`| ${m.label} | ${formatMs(m.ms)} | ${ratio} | ${m.notes} |`);
  }
  return lines.join('\n');
}
