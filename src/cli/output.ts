import path from 'node:path';
import type { Diagnostic } from '../policy/diagnostics.js';
import { formatDiagnostic } from '../policy/diagnostics.js';
import type { Environment } from '../util/environment.js';

export type OutputFormat = 'text' | 'json';

/** Where a command writes. `stdout` carries results, `stderr` logs and problems. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Environment;
  readonly cwd: string;
  /** A terminal to draw progress bars on; undefined: progress goes to stderr as log lines. */
  readonly progressStream?: NodeJS.WritableStream | undefined;
  /**
   * Asks the operator a question on the terminal and returns the answer;
   * undefined when stdin or stderr is not a terminal (nobody to ask).
   */
  readonly prompt?: ((question: string) => Promise<string>) | undefined;
  /** stdout is a terminal: text output may be coloured (style.ts). */
  readonly stdoutTty?: boolean | undefined;
  /** --verbose: extra detail for stderr (each statement as it runs); undefined otherwise. */
  readonly detail?: ((message: string) => void) | undefined;
}

/** Paths under the working directory are shown relative to it: shorter, and what the operator typed. */
export function displayPath(file: string, cwd: string): string {
  const relative = path.relative(cwd, file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

export function displayDiagnostic(d: Diagnostic, cwd: string): Diagnostic {
  const shown = { ...d, file: displayPath(d.file, cwd) };
  return d.related ? { ...shown, related: { ...d.related, file: displayPath(d.related.file, cwd) } } : shown;
}

export function printDiagnostics(diagnostics: readonly Diagnostic[], io: CliIo): void {
  for (const d of diagnostics) io.stderr(`${formatDiagnostic(displayDiagnostic(d, io.cwd))}\n`);
}

export function printJson(value: unknown, io: CliIo): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

export { plural } from '../util/printable.js';
