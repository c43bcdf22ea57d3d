/** What the credential directory trusts: the pure decisions on owner, mode and names. */
import { describe, expect, it } from 'vitest';
import {
  directoryProblem,
  fileProblem,
  type OwnerAndMode,
  TEMP_FILE,
  tempName,
} from '../../../src/credentials/file-checks.js';

const UID = 1000;
const entry = (kind: 'dir' | 'file' | 'fifo' | 'link', mode: number, uid = UID): OwnerAndMode => ({
  uid,
  mode,
  isDirectory: () => kind === 'dir',
  isFile: () => kind === 'file',
});

describe('directoryProblem', () => {
  it.each([0o700, 0o750, 0o755, 0o711, 0o500])('trusts a directory of ours with mode %o', (mode) => {
    expect(directoryProblem(entry('dir', 0o40000 | mode), UID)).toBeUndefined();
  });

  it.each([
    [0o770, 'is writable by group or others (mode 0770)'],
    [0o777, 'is writable by group or others (mode 0777)'],
    [0o1777, 'is writable by group or others (mode 01777)'],
    [0o2770, 'is writable by group or others (mode 02770)'],
    [0o702, 'is writable by group or others (mode 0702)'],
  ])('refuses mode %o', (mode, problem) => {
    expect(directoryProblem(entry('dir', 0o40000 | mode), UID)).toBe(problem);
  });

  it('refuses a directory of another user, and what is no directory', () => {
    expect(directoryProblem(entry('dir', 0o700, 0), UID)).toBe(
      'is owned by uid 0, not by the user running dbwarden (uid 1000)',
    );
    expect(directoryProblem(entry('file', 0o600), UID)).toBe('is not a directory');
  });
});

describe('fileProblem', () => {
  it('trusts a regular file of ours with mode 0600 or 0400', () => {
    expect(fileProblem(entry('file', 0o100600), UID)).toBeUndefined();
    expect(fileProblem(entry('file', 0o100400), UID)).toBeUndefined();
  });

  it.each([0o640, 0o644, 0o604])('tightens a file readable by others (mode %o)', (mode) => {
    expect(fileProblem(entry('file', mode), UID)).toEqual({
      action: 'tighten',
      problem: `was readable by group or others (mode 0${mode.toString(8)})`,
    });
  });

  it.each([0o660, 0o620, 0o602, 0o666])('refuses a file writable by others (mode %o)', (mode) => {
    expect(fileProblem(entry('file', mode), UID)).toEqual({
      action: 'refuse',
      problem: `is writable by group or others (mode 0${mode.toString(8)})`,
    });
  });

  it('refuses a file of another user and anything that is no regular file', () => {
    expect(fileProblem(entry('file', 0o600, 0), UID)?.problem).toBe(
      'is owned by uid 0, not by the user running dbwarden (uid 1000)',
    );
    expect(fileProblem(entry('file', 0o600, 0), UID)?.action).toBe('refuse');
    for (const kind of ['dir', 'fifo', 'link'] as const) {
      expect(fileProblem(entry(kind, 0o600), UID)).toEqual({
        action: 'refuse',
        problem: 'is not a regular file',
      });
    }
  });
});

describe('temporary file names', () => {
  it('puts one dot before the final and the pending name', () => {
    expect(tempName('worker.json', '0123456789ab')).toBe('.worker.json.0123456789ab.tmp');
    expect(tempName('.worker.json.pending', '0123456789ab')).toBe('.worker.json.pending.0123456789ab.tmp');
  });

  it.each([
    '.worker.json.0123456789ab.tmp',
    '.worker.json.pending.0123456789ab.tmp',
    '..worker.json.pending.0123456789ab.tmp',
    '.cell_1.json.abcdef012345.tmp',
  ])('knows %s as its own', (name) => {
    expect(TEMP_FILE.test(name)).toBe(true);
  });

  it.each([
    'worker.json',
    '.worker.json.pending',
    '.notes.tmp',
    'worker.json.0123456789ab.tmp',
    '.worker.json.0123456789a.tmp',
    '.worker.json.pending.0123456789AB.tmp',
    '...worker.json.0123456789ab.tmp',
    '.Worker.json.0123456789ab.tmp',
    '.worker.json.0123456789ab.tmp.bak',
  ])('leaves %s alone', (name) => {
    expect(TEMP_FILE.test(name)).toBe(false);
  });
});
