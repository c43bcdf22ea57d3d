/**
 * Diagnostics: every problem found in an input file, with its place.
 *
 * Loading never stops at the first problem: each step adds what it finds to a
 * DiagnosticList so that an operator fixes a broken file in one pass.
 */
import { printable } from '../util/printable.js';

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
  /** Another place the problem involves (the first definition of a duplicate, say). */
  readonly related?: RelatedPosition;
}

export interface RelatedPosition extends SourcePosition {
  /** How the place relates: "first defined at", "targets are listed in". */
  readonly label: string;
}

export class DiagnosticList {
  readonly #items: Diagnostic[] = [];

  error(at: SourcePosition, message: string, hint?: string, related?: RelatedPosition): void {
    this.#items.push(makeDiagnostic('error', at, { message, hint, related }));
  }

  warning(at: SourcePosition, message: string, hint?: string): void {
    this.#items.push(makeDiagnostic('warning', at, { message, hint }));
  }

  /** Whether an error was already reported at exactly this place (to avoid follow-on errors). */
  hasErrorAt(at: SourcePosition): boolean {
    return this.#items.some(
      (d) => d.severity === 'error' && d.file === at.file && d.line === at.line && d.col === at.col,
    );
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

/** What a diagnostic says: the message, what to do, and a place it relates to. */
interface DiagnosticText {
  readonly message: string;
  readonly hint?: string | undefined;
  readonly related?: RelatedPosition | undefined;
}

function makeDiagnostic(
  severity: Severity,
  at: SourcePosition,
  { message, hint, related }: DiagnosticText,
): Diagnostic {
  return {
    severity,
    file: at.file,
    line: at.line,
    col: at.col,
    message: printable(message),
    ...(hint === undefined ? {} : { hint: printable(hint) }),
    ...(related === undefined ? {} : { related }),
  };
}

function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.col - b.col || (a.message < b.message ? -1 : a.message > b.message ? 1 : 0);
}

/** `file:line:col: error: message (hint)` — the form editors and CI annotate. */
export function formatDiagnostic(d: Diagnostic): string {
  const hint = d.hint ? `\n    ${d.hint}` : '';
  const related = d.related ? `\n    ${d.related.label} ${formatPosition(d.related)}` : '';
  return `${formatPosition(d)}: ${d.severity}: ${d.message}${hint}${related}`;
}

function formatPosition(at: SourcePosition): string {
  const file = printable(at.file);
  return at.line > 0 ? `${file}:${at.line}:${at.col}` : file;
}
