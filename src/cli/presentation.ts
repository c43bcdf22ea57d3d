/**
 * The global output options (--no-color, --quiet, --verbose) as a CliIo the
 * commands write to: they print as always, and this decides what reaches the
 * terminal and how it looks (style.ts). Errors do not pass through here:
 * main.ts reports them on the process's own stderr, whatever the options.
 */
import type { CliIo } from './output.js';
import { colourText, quietText, useColour } from './style.js';

/** What the options decided, set once the command line is parsed (before the command runs). */
export interface Presentation {
  /** The command prints a text report (not JSON, SQL, or schema's JSON): it may be styled. */
  textReport: boolean;
  colour: boolean;
  quiet: boolean;
  verbose: boolean;
  /** The command's stderr carries its errors (validate's diagnostics): --quiet keeps it. */
  stderrIsErrors: boolean;
}

export function defaultPresentation(): Presentation {
  return { textReport: false, colour: false, quiet: false, verbose: false, stderrIsErrors: false };
}

/** Settles the presentation from the parsed global options of the command about to run. */
export function settlePresentation(
  p: Presentation,
  options: {
    readonly command: string;
    readonly format: string;
    readonly color: boolean;
    readonly quiet: boolean;
    readonly verbose: boolean;
  },
  io: CliIo,
): void {
  p.textReport = options.format === 'text' && options.command !== 'schema';
  p.colour = p.textReport && useColour({ noColor: !options.color, tty: io.stdoutTty === true, env: io.env });
  p.quiet = options.quiet;
  p.verbose = options.verbose;
  p.stderrIsErrors = options.command === 'validate';
}

export function presentedIo(io: CliIo, p: Presentation): CliIo {
  const detail = (message: string) => io.stderr(`${message}\n`);
  return {
    stdout: (text) => {
      if (!p.textReport) return io.stdout(text);
      const shown = p.quiet ? quietText(text) : text;
      if (shown !== '') io.stdout(p.colour ? colourText(shown) : shown);
    },
    stderr: (text) => {
      if (!p.quiet || p.stderrIsErrors) io.stderr(text);
    },
    env: io.env,
    cwd: io.cwd,
    prompt: io.prompt,
    stdoutTty: io.stdoutTty,
    get progressStream() {
      return p.quiet ? undefined : io.progressStream;
    },
    get detail() {
      return p.verbose ? detail : undefined;
    },
  };
}
