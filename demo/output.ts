/**
 * What the demo prints: step headings, indented lines of the CLI's own output, notes and the
 * summary. Colours only on a terminal (stdout and stderr each decide for themselves) and when
 * NO_COLOR is unset or empty (https://no-color.org). Everything passes through a Redactor first.
 */
import type { Redactor } from './redact.js';

const noColor = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '';
const useColor = process.stdout.isTTY === true && !noColor;
const useColorOnStderr = process.stderr.isTTY === true && !noColor;

function paint(code: string, text: string): string {
  return useColor ? `\x1b[${code}m${text}\x1b[0m` : text;
}

/** For stderr, which may be a terminal when stdout is not, or the other way round. */
function paintErr(code: string, text: string): string {
  return useColorOnStderr ? `\x1b[${code}m${text}\x1b[0m` : text;
}

export const style = {
  bold: (t: string) => paint('1', t),
  dim: (t: string) => paint('2', t),
  green: (t: string) => paint('32', t),
  red: (t: string) => paint('31', t),
  yellow: (t: string) => paint('33', t),
  cyan: (t: string) => paint('36', t),
};

/** Colours a line of dbwarden's text output by its first character (+ grant, - revoke, ~ change). */
function colorCliLine(line: string): string {
  if (!useColor) return line;
  const t = line.trimStart();
  if (t.startsWith('+ ')) return style.green(line);
  if (t.startsWith('- ')) return style.red(line);
  if (t.startsWith('~ ')) return style.yellow(line);
  if (t.startsWith('ok ')) return style.green(line);
  if (t.startsWith('FAIL')) return style.red(line);
  if (/^target \S+/.test(t)) return style.bold(line);
  return line;
}

export class Output {
  constructor(private readonly redactor: Redactor) {}

  private write(stream: NodeJS.WriteStream, text: string): void {
    stream.write(`${this.redactor.redact(text)}\n`);
  }

  heading(index: number, total: number, title: string, detail: string): void {
    this.write(process.stdout, '');
    this.write(process.stdout, style.bold(style.cyan(`== Step ${index}/${total}: ${title}`)));
    if (detail !== '') this.write(process.stdout, style.dim(`   ${detail}`));
  }

  /** A line the demo itself says, indented under the heading. */
  note(text: string): void {
    this.write(process.stdout, `   ${text}`);
  }

  /** A line of the CLI's stdout (or stderr), indented and shown as its output. */
  cliLine(line: string, stream: 'stdout' | 'stderr'): void {
    if (stream === 'stdout') this.write(process.stdout, `   │ ${colorCliLine(line)}`);
    else this.write(process.stderr, paintErr('2', `   │ ${line}`));
  }

  command(text: string): void {
    this.write(process.stdout, style.dim(`   $ ${text}`));
  }

  ok(text: string): void {
    this.write(process.stdout, `   ${style.green('✓')} ${text}`);
  }

  plain(text: string): void {
    this.write(process.stdout, text);
  }

  title(text: string): void {
    this.write(process.stdout, '');
    this.write(process.stdout, style.bold(text));
  }

  error(text: string): void {
    this.write(process.stderr, '');
    this.write(process.stderr, `${paintErr('1;31', '✗')} ${paintErr('31', text)}`);
  }
}
