/**
 * The plan of a fresh Nova deployment is a few hundred lines. The demo shows one component's
 * changes in full and a count for each of the others, in dbwarden's own format
 * (docs/cli.md, "plan --format text"): `target ...` lines, `  component NAME` lines, then one
 * change per line. Lines it does not recognise are shown as they are.
 */
import type { Output } from './output.js';

export const FOCUS_COMPONENT = 'scheduler';

export function showPlan(lines: readonly string[], out: Output, full: boolean): void {
  if (full) {
    for (const line of lines) out.cliLine(line, 'stdout');
    return;
  }
  let component: string | undefined;
  let changes: string[] = [];
  const flush = () => {
    if (component === undefined) return;
    if (component === FOCUS_COMPONENT) {
      out.cliLine(`  component ${component}`, 'stdout');
      for (const change of changes) out.cliLine(change, 'stdout');
    } else {
      const n = changes.length;
      out.cliLine(`  component ${component}: ${n} change${n === 1 ? '' : 's'} (not shown)`, 'stdout');
    }
    component = undefined;
    changes = [];
  };
  for (const line of lines) {
    const start = /^ {2}component (\S+)$/.exec(line);
    if (start) {
      flush();
      component = start[1];
    } else if (component !== undefined && line.startsWith('    ')) {
      changes.push(line);
    } else {
      flush();
      out.cliLine(line, 'stdout');
    }
  }
  flush();
}
