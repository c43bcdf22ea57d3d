/**
 * How text output looks: colour on a terminal, and `--quiet`. Both work on
 * the text the commands print (plan, apply, verify, upgrade, ...), whose
 * shapes docs/cli.md fixes: a change line is indented four spaces and starts
 * with its sign (`+`, `-`, `~`), a check line starts with `ok` or `FAIL`, and
 * the verdict is the last line that starts in the first column. JSON and SQL
 * output are never touched. Pure: no I/O.
 */
import type { Environment } from '../util/environment.js';

/** SGR codes of the few colours used; each is reset with its own "off" code, not a full reset. */
const SGR = {
  green: ['\u001b[32m', '\u001b[39m'],
  red: ['\u001b[31m', '\u001b[39m'],
  yellow: ['\u001b[33m', '\u001b[39m'],
  bold: ['\u001b[1m', '\u001b[22m'],
} as const;

export type Colour = keyof typeof SGR;

export function paint(colour: Colour, text: string): string {
  const [on, off] = SGR[colour];
  return `${on}${text}${off}`;
}

/**
 * Colour or not: never with --no-color or NO_COLOR (https://no-color.org),
 * always with FORCE_COLOR (other than 0), otherwise when stdout is a terminal.
 */
export function useColour(options: {
  readonly noColor: boolean;
  readonly tty: boolean;
  readonly env: Environment;
}): boolean {
  if (options.noColor || nonEmpty(options.env.NO_COLOR)) return false;
  const force = options.env.FORCE_COLOR;
  if (nonEmpty(force)) return force !== '0' && force !== 'false';
  return options.tty;
}

function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value !== '';
}

const SIGN_COLOUR: Readonly<Record<string, Colour>> = { '+': 'green', '-': 'red', '~': 'yellow' };

/** One line of command output, coloured by what it is. */
function colourLine(line: string): string {
  const change = /^( {4})([+~-]) (.*)$/.exec(line);
  if (change) {
    const [, indent = '', sign = '', rest = ''] = change;
    const colour = SIGN_COLOUR[sign] ?? 'bold';
    return `${indent}${paint(colour, `${sign} ${rest}`)}`;
  }
  const check = /^(ok|FAIL)(\s.*)$/.exec(line);
  if (check) {
    const [, word = '', rest = ''] = check;
    return `${paint(word === 'ok' ? 'green' : 'red', word)}${rest}`;
  }
  const difference = /^( {8})(missing|extra)(\s.*)$/.exec(line);
  if (difference) {
    const [, indent = '', word = '', rest = ''] = difference;
    return `${indent}${paint(word === 'missing' ? 'red' : 'yellow', word)}${rest}`;
  }
  // A verdict: "Plan: ...", "Verify: ...", "Upgrade: ...".
  const verdict = /^([A-Z][A-Za-z]*(?: [a-z]+ \S+)?:)( .*)$/.exec(line);
  if (verdict) {
    const [, head = '', rest = ''] = verdict;
    return `${paint('bold', head)}${rest}`;
  }
  return line;
}

/** Text output with change signs, ok/FAIL and missing/extra coloured, and verdicts in bold. */
export function colourText(text: string): string {
  return text.split('\n').map(colourLine).join('\n');
}

const indentOf = (line: string) => line.length - line.trimStart().length;

/**
 * `--quiet`: of a command's text output, only the failures (lines starting
 * with FAIL, with the lines indented under them) and the verdict (the last
 * line that starts in the first column, with the lines indented under it).
 */
export function quietText(text: string): string {
  const lines = text.replace(/\n$/, '').split('\n');
  const keep = new Set<number>();
  const keepBlock = (start: number) => {
    keep.add(start);
    const depth = indentOf(lines[start] ?? '');
    for (let i = start + 1; i < lines.length; i++) {
      const line = lines[i] ?? '';
      if (line.trim() === '' || indentOf(line) <= depth) break;
      keep.add(i);
    }
  };
  lines.forEach((line, i) => {
    if (/^FAIL\s/.test(line)) keepBlock(i);
  });
  const verdict = lines.findLastIndex((line) => line !== '' && indentOf(line) === 0 && !/^FAIL\s/.test(line));
  if (verdict >= 0) keepBlock(verdict);
  const kept = lines.filter((_, i) => keep.has(i));
  return kept.length === 0 ? '' : `${kept.join('\n')}\n`;
}
