/**
 * What a terminal shows after some output: a small emulator of the control
 * sequences progress bars use (carriage return, newline, cursor up/down and to
 * a column, clear line, clear to end of line, clear screen down). Lines are
 * not wrapped; other escape sequences (cursor show/hide, line wrapping) change
 * nothing on screen and are dropped.
 */
export function screenLines(output: string): string[] {
  const screen: string[][] = [[]];
  let row = 0;
  let col = 0;
  const line = () => (screen[row] ??= []);
  for (let i = 0; i < output.length; i++) {
    const c = output[i] as string;
    if (c === '\u001b') {
      // eslint-disable-next-line no-control-regex -- escape sequences are what this reads
      const match = /^\u001b(\[[?]?[0-9;]*[A-Za-z]|[78])/.exec(output.slice(i));
      if (!match)
        throw new Error(`unknown escape sequence at ${i}: ${JSON.stringify(output.slice(i, i + 8))}`);
      i += (match[0] as string).length - 1;
      const seq = match[1] as string;
      const n = Number(/[0-9]+/.exec(seq)?.[0] ?? '1');
      const command = seq.at(-1);
      // Private modes, cursor save/restore and colours (SGR, `m`) do not move the cursor.
      if (seq.startsWith('[?') || seq === '7' || seq === '8' || command === 'm') continue;
      if (command === 'A') row = Math.max(0, row - n);
      else if (command === 'B') row += n;
      else if (command === 'G') col = n - 1;
      else if (command === 'K') {
        const mode = /[0-9]/.test(seq) ? n : 0;
        if (mode === 0) line().length = Math.min(line().length, col);
        else if (mode === 1) for (let k = 0; k <= col && k < line().length; k++) line()[k] = ' ';
        else screen[row] = [];
      } else if (command === 'J') {
        line().length = Math.min(line().length, col);
        screen.length = row + 1;
      } else throw new Error(`unhandled escape sequence ${JSON.stringify(seq)}`);
      continue;
    }
    if (c === '\r') col = 0;
    else if (c === '\n') {
      // A terminal (and a pty's output processing) moves to the start of the next line.
      row++;
      col = 0;
    } else {
      const l = line();
      while (l.length < col) l.push(' ');
      l[col++] = c;
    }
  }
  const lines = Array.from({ length: screen.length }, (_, k) => (screen[k] ?? []).join('').trimEnd());
  while (lines.length > 0 && lines.at(-1) === '') lines.pop();
  return lines;
}
