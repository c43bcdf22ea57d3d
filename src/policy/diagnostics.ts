/**
 * Diagnostics: every problem found in an input file, with its place.
 *
 * Loading never stops at the first problem: each step adds what it finds to a
 * DiagnosticList so that an operator fixes a broken file in one pass.
 */

export type Severity = 'error' | 'warning';

export interface SourcePosition {
  readonly file: string;
  /** 1-based line; 0 when the problem concerns the file as a whole. */
  readonly line: number;
  /** 1-based column; 0 when the problem concerns the file as a whole. */
  readonly col: number;
}

export interface Diagnostic extends SourcePosition {
  readonly severity: Severity;
  /** What is wrong, naming the offending value. */
  readonly message: string;
  /** What to do about it: what is allowed, or a did-you-mean. */
  readonly hint?: string;
}

export class DiagnosticList {
  readonly #items: Diagnostic[] = [];

  error(at: SourcePosition, message: string, hint?: string): void {
    this.#items.push(makeDiagnostic('error', at, message, hint));
  }

  warning(at: SourcePosition, message: string, hint?: string): void {
    this.#items.push(makeDiagnostic('warning', at, message, hint));
  }

  get errors(): Diagnostic[] {
    return this.sorted().filter((d) => d.severity === 'error');
  }

  get warnings(): Diagnostic[] {
    return this.sorted().filter((d) => d.severity === 'warning');
  }

  get hasErrors(): boolean {
    return this.#items.some((d) => d.severity === 'error');
  }

  /** File, then line, then column: the order an editor shows them. */
  sorted(): Diagnostic[] {
    return [...this.#items].sort(compareDiagnostics);
  }
}

function makeDiagnostic(severity: Severity, at: SourcePosition, message: string, hint?: string): Diagnostic {
  const base = { severity, file: at.file, line: at.line, col: at.col, message };
  return hint === undefined ? base : { ...base, hint };
}

function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.col - b.col || (a.message < b.message ? -1 : a.message > b.message ? 1 : 0);
}

/** `file:line:col: error: message (hint)` — the form editors and CI annotate. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.col}` : d.file;
  const hint = d.hint ? `\n    ${d.hint}` : '';
  return `${where}: ${d.severity}: ${d.message}${hint}`;
}
