/**
 * No logic written twice in src/ (issue 16): jscpd (a copy-paste detector, 6 lines or more) finds
 * only the repeats listed here, each with why it is still there; a new one fails the test, and so
 * does a listed one that is gone (delete its entry).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

/** Known repeats, by the pair of files (in src/, sorted). */
const KNOWN: readonly { files: readonly [string, string]; why: string }[] = [
  {
    files: ['dialects/mysql/secrets.ts', 'dialects/postgres/secrets.ts'],
    why:
      'the import lists of the two engines\u2019 store SQL, and the skeleton of lockStore (a pooled ' +
      'connection held for the run): issue 16 point 1 gives the store lock one home in the engine object',
  },
];

interface Clone {
  readonly firstFile: { readonly name: string };
  readonly secondFile: { readonly name: string };
  readonly lines: number;
}

function findClones(): Clone[] {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'dbwarden-jscpd-'));
  try {
    const bin = path.join(root, 'node_modules', '.bin', 'jscpd');
    execFileSync(
      bin,
      [
        '--min-lines',
        '6',
        '--format',
        'typescript',
        '--reporters',
        'json',
        '--output',
        out,
        '--silent',
        'src',
      ],
      { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const report = JSON.parse(fs.readFileSync(path.join(out, 'jscpd-report.json'), 'utf8')) as {
      duplicates: Clone[];
      statistics: { total: { sources: number } };
    };
    // The run read the tree: well over a hundred files.
    expect(report.statistics.total.sources).toBeGreaterThan(100);
    return report.duplicates;
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

const pairOf = (c: Clone) =>
  [c.firstFile.name, c.secondFile.name]
    .map((n) => n.replace(/^src\//, ''))
    .sort()
    .join(' ~ ');

describe('duplicated code in src/', () => {
  it('is only what is listed, and everything listed is still there', () => {
    const found = new Set(findClones().map(pairOf));
    const known = new Set(KNOWN.map((k) => [...k.files].sort().join(' ~ ')));
    expect([...found].filter((p) => !known.has(p)).map((p) => `${p}: new repeated code`)).toEqual([]);
    expect([...known].filter((p) => !found.has(p)).map((p) => `${p}: gone; delete its entry`)).toEqual([]);
  });
});
