/**
 * Progress of long row-by-row work (encryption, re-encryption) for operators:
 * a bar with rows/s and ETA when stderr is a terminal, and otherwise (CI, a
 * Kubernetes Job's log) one structured line every few seconds, plus one when
 * a table finishes. Never prints a value.
 */
import cliProgress from 'cli-progress';
import type { StoreProgress } from '../secrets/store/index.js';

/** How often a log line is written when stderr is not a terminal. */
const LINE_INTERVAL_MS = 5000;

export interface ProgressReporter {
  readonly update: (p: StoreProgress) => void;
  readonly stop: () => void;
}

export function progressReporter(
  stderr: (text: string) => void,
  tty: NodeJS.WritableStream | undefined,
): ProgressReporter {
  return tty ? barReporter(tty) : lineReporter(stderr);
}

function keyOf(p: StoreProgress): string {
  return `${p.target}\u0000${p.table}\u0000${p.phase}`;
}

function barReporter(stream: NodeJS.WritableStream): ProgressReporter {
  const multibar = new cliProgress.MultiBar(
    {
      stream,
      format: '{phase} {target}/{table} [{bar}] {value}/{total} rows | {rate} rows/s | ETA {eta_formatted}',
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, { bar: cliProgress.SingleBar; started: number }>();
  return {
    update(p) {
      let entry = bars.get(keyOf(p));
      if (!entry) {
        const bar = multibar.create(p.total, 0, { ...labels(p), rate: '-' });
        entry = { bar, started: performance.now() };
        bars.set(keyOf(p), entry);
      }
      const seconds = (performance.now() - entry.started) / 1000;
      entry.bar.setTotal(p.total);
      // A rate over a few milliseconds says nothing: show it once half a second has passed.
      entry.bar.update(p.done, { ...labels(p), rate: seconds >= 0.5 ? Math.round(p.done / seconds) : '-' });
    },
    stop: () => multibar.stop(),
  };
}

function labels(p: StoreProgress): Record<string, string> {
  return { phase: p.phase, target: p.target, table: p.table };
}

/** `progress target=… table=… phase=… done=… total=… rate=…/s eta=…s`, at most every few seconds per table. */
function lineReporter(stderr: (text: string) => void): ProgressReporter {
  const seen = new Map<string, { started: number; lastLine: number }>();
  return {
    update(p) {
      const now = performance.now();
      let entry = seen.get(keyOf(p));
      if (!entry) {
        entry = { started: now, lastLine: now };
        seen.set(keyOf(p), entry);
      }
      const finished = p.done >= p.total;
      if (!finished && now - entry.lastLine < LINE_INTERVAL_MS) return;
      entry.lastLine = now;
      const seconds = (now - entry.started) / 1000;
      // A rate over a few milliseconds says nothing: leave it out.
      const rate = seconds >= 0.5 ? p.done / seconds : undefined;
      const eta = rate ? Math.max(0, Math.round((p.total - p.done) / rate)) : undefined;
      stderr(
        `progress target=${p.target} table=${p.table} phase=${p.phase} done=${p.done} total=${p.total}${rate === undefined ? '' : ` rate=${Math.round(rate)}/s`}${eta === undefined ? '' : ` eta=${eta}s`}\n`,
      );
    },
    stop: () => undefined,
  };
}
