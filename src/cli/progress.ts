/**
 * Progress of long row-by-row work (encryption, re-encryption, verification)
 * for operators: a bar with rows/s and ETA when stderr is a terminal, and
 * otherwise (CI, a Kubernetes Job's log) one structured line every few
 * seconds, plus one when a table finishes. Never prints a value.
 *
 * Log lines written while a bar is drawn go through the reporter (`log`):
 * the bar is redrawn under them, so a log line never lands on the bar's line.
 */
import cliProgress from 'cli-progress';
import type { StoreProgress } from '../secrets/store/index.js';

/** How often a log line is written when stderr is not a terminal. */
const LINE_INTERVAL_MS = 5000;

export interface ProgressReporter {
  readonly update: (p: StoreProgress) => void;
  /** Writes one log line (ending in a newline) on a line of its own, above the bars if any are drawn. */
  readonly log: (line: string) => void;
  readonly stop: () => void;
}

export interface ProgressReporterOptions {
  /** Where log lines and progress lines go when there is no terminal. */
  readonly stderr: (text: string) => void;
  /** A terminal to draw bars on; undefined: progress goes to stderr as throttled log lines. */
  readonly tty: NodeJS.WritableStream | undefined;
  /** Milliseconds, monotonic; injectable so tests control time. */
  readonly now?: () => number;
}

export function progressReporter(options: ProgressReporterOptions): ProgressReporter {
  const now = options.now ?? (() => performance.now());
  return options.tty ? barReporter(options.tty, now) : lineReporter(options.stderr, now);
}

function keyOf(p: StoreProgress): string {
  return `${p.target}\u0000${p.table}\u0000${p.phase}`;
}

function barReporter(stream: NodeJS.WritableStream, now: () => number): ProgressReporter {
  const multibar = new cliProgress.MultiBar(
    {
      stream,
      format: '{phase} {target}/{table} [{bar}] {value}/{total} rows | {rate} rows/s | ETA {eta_formatted}',
      // 20 wide: the whole line, rate and ETA included, fits in 80 columns for most table names.
      barsize: 20,
      hideCursor: true,
      clearOnComplete: false,
      // Log lines are written above the bars: each bar is drawn again under them, changed or not.
      forceRedraw: true,
      // Bars are cut at the terminal's width, log lines wrap (rather than being cut off by the terminal).
      linewrap: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, { bar: cliProgress.SingleBar; started: number }>();
  return {
    update(p) {
      let entry = bars.get(keyOf(p));
      if (!entry) {
        const bar = multibar.create(p.total, 0, { ...labels(p), rate: '-' });
        entry = { bar, started: now() };
        bars.set(keyOf(p), entry);
      }
      const seconds = (now() - entry.started) / 1000;
      entry.bar.setTotal(p.total);
      // A rate over a few milliseconds says nothing: show it once half a second has passed.
      entry.bar.update(p.done, { ...labels(p), rate: seconds >= 0.5 ? Math.round(p.done / seconds) : '-' });
    },
    log(line) {
      const text = line.endsWith('\n') ? line : `${line}\n`;
      // No bar drawn (none yet, or stopped): the cursor is at the start of a clean line.
      if (!multibar.isActive) {
        stream.write(text);
        return;
      }
      // Redraw now: the bars' lines are cleared, the line written in their place, the bars drawn below it.
      multibar.log(text);
      multibar.update();
    },
    stop() {
      // Stopping a multibar that never drew writes an empty line: nothing to finish then.
      if (multibar.isActive) multibar.stop();
    },
  };
}

function labels(p: StoreProgress): Record<string, string> {
  return { phase: p.phase, target: p.target, table: p.table };
}

interface LineState {
  readonly started: number;
  lastLine: number;
  /** done of the last update: a smaller one starts another pass over the table. */
  lastDone: number;
  /** The line saying the table (or this pass over it) is done was written. */
  finishedShown: boolean;
}

/**
 * `progress target=… table=… phase=… done=… total=… rate=…/s eta=…s`: at most
 * one line every few seconds per table, and one when the table (or a pass
 * over it) is done, however often updates come.
 */
function lineReporter(stderr: (text: string) => void, now: () => number): ProgressReporter {
  const seen = new Map<string, LineState>();
  return {
    update(p) {
      const at = now();
      let entry = seen.get(keyOf(p));
      if (!entry) {
        entry = { started: at, lastLine: at, lastDone: 0, finishedShown: false };
        seen.set(keyOf(p), entry);
      }
      if (p.done < entry.lastDone) entry.finishedShown = false;
      entry.lastDone = p.done;
      const finishing = p.done >= p.total && !entry.finishedShown;
      if (!finishing && at - entry.lastLine < LINE_INTERVAL_MS) return;
      if (p.done >= p.total) entry.finishedShown = true;
      entry.lastLine = at;
      stderr(progressLine(p, (at - entry.started) / 1000));
    },
    log: stderr,
    stop: () => undefined,
  };
}

function progressLine(p: StoreProgress, seconds: number): string {
  // A rate over a few milliseconds says nothing: leave it out.
  const rate = seconds >= 0.5 ? p.done / seconds : undefined;
  const eta = rate ? Math.max(0, Math.round((p.total - p.done) / rate)) : undefined;
  return `progress target=${p.target} table=${p.table} phase=${p.phase} done=${p.done} total=${p.total}${rate === undefined ? '' : ` rate=${Math.round(rate)}/s`}${eta === undefined ? '' : ` eta=${eta}s`}\n`;
}
