/** The credential directory on a real file system: atomic writes, modes, pending files, bad input. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type CredentialFile,
  CredentialDirectory,
  CredentialFileError,
  formatCredentialFile,
} from '../../../src/credentials/credential-file.js';

const SECRET = 'FAKE-SECRET-4b1d-never-print';

/** A password of dbwarden's generated form (43 characters of base64url), named by `label`. */
const pw = (label: string) => createHash('sha256').update(label).digest('base64url');

/** Credentials of `component` with the password `pw(label)`. */
function credentials(component: string, label = `${component}-pw`): CredentialFile {
  const password = pw(label);
  return {
    component,
    username: `nova_${component}`,
    password,
    targets: {
      nova_cell1: { url: `postgresql://nova_${component}:${password}@db/nova_cell1` },
      nova_api: { url: `postgresql://nova_${component}:${password}@db/nova_api` },
    },
  };
}

const modeOf = async (p: string) => (await fs.stat(p)).mode & 0o777;

let root: string;
let dir: string;
let savedUmask: number;

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'dbwarden-cred-'));
  dir = path.join(root, 'credentials');
  savedUmask = process.umask();
});

afterEach(async () => {
  process.umask(savedUmask);
  await fs.rm(root, { recursive: true, force: true });
});

/** Thrown error of a promise, asserting it is one. */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    return error as Error;
  }
  throw new Error('expected the operation to fail');
}

describe('CredentialDirectory write and read', () => {
  it('round-trips a file, sorted by target, at <dir>/<component>.json', async () => {
    const store = new CredentialDirectory(dir);
    expect(store.path('scheduler')).toBe(path.join(dir, 'scheduler.json'));
    await store.write(credentials('scheduler'));

    expect(await store.read('scheduler')).toEqual(credentials('scheduler'));
    const text = await fs.readFile(path.join(dir, 'scheduler.json'), 'utf8');
    const parsed = JSON.parse(text) as CredentialFile;
    expect(Object.keys(parsed.targets)).toEqual(['nova_api', 'nova_cell1']);
    expect(parsed.username).toBe('nova_scheduler');
  });

  it('returns undefined for a component without a file, also when the directory is missing', async () => {
    const store = new CredentialDirectory(dir);
    expect(await store.read('scheduler')).toBeUndefined();
    await store.write(credentials('api'));
    expect(await store.read('scheduler')).toBeUndefined();
  });

  it('replaces an existing file', async () => {
    const store = new CredentialDirectory(dir);
    await store.write(credentials('scheduler', 'old-password'));
    await store.write(credentials('scheduler', 'new-password'));
    expect((await store.read('scheduler'))?.password).toBe(pw('new-password'));
    expect(await fs.readdir(dir)).toEqual(['scheduler.json']);
  });

  it.each([
    ['0', 0o000],
    ['0022', 0o022],
    ['0277 (would leave the owner without write)', 0o277],
  ])('creates the directory 0700 and the file 0600 under umask %s', async (_label, umask) => {
    process.umask(umask);
    const nested = path.join(dir, 'nested');
    const store = new CredentialDirectory(nested);
    await store.write(credentials('scheduler'));
    expect(await modeOf(nested)).toBe(0o700);
    expect(await modeOf(store.path('scheduler'))).toBe(0o600);
    await store.writePending(credentials('scheduler', 'next'));
    expect(await modeOf(store.pendingPath('scheduler'))).toBe(0o600);
  });

  it('gives a replaced file mode 0600 even if the old one was 0644', async () => {
    process.umask(0);
    const store = new CredentialDirectory(dir);
    await store.write(credentials('scheduler'));
    await fs.chmod(store.path('scheduler'), 0o644);
    await store.write(credentials('scheduler', 'rotated'));
    expect(await modeOf(store.path('scheduler'))).toBe(0o600);
  });

  it('leaves an existing directory’s mode alone', async () => {
    await fs.mkdir(dir, { mode: 0o750 });
    await fs.chmod(dir, 0o750);
    await new CredentialDirectory(dir).write(credentials('scheduler'));
    expect(await modeOf(dir)).toBe(0o750);
  });

  it('leaves only the final files behind after many writes', async () => {
    const store = new CredentialDirectory(dir);
    for (let i = 0; i < 5; i++) {
      await Promise.all([
        store.write(credentials('api', `a${i}`)),
        store.write(credentials('scheduler', `s${i}`)),
      ]);
    }
    await store.writePending(credentials('api', 'next'));
    expect((await fs.readdir(dir)).sort()).toEqual(['.api.json.pending', 'api.json', 'scheduler.json']);
  });

  it('removes its temp file when the final rename fails', async () => {
    const store = new CredentialDirectory(dir);
    // A non-empty directory where the file should go: the temp file is written, the rename fails.
    await fs.mkdir(path.join(dir, 'scheduler.json', 'blocker'), { recursive: true });
    const error = await failure(store.write(credentials('scheduler', SECRET)));
    expect(error).toBeInstanceOf(CredentialFileError);
    expect(error.message).toContain(path.join(dir, 'scheduler.json'));
    expect(error.message).not.toContain(pw(SECRET));
    expect(await fs.readdir(dir)).toEqual(['scheduler.json']);
  });

  it('fails cleanly when the directory path is a file', async () => {
    await fs.writeFile(dir, 'not a directory');
    const store = new CredentialDirectory(dir);
    const error = await failure(store.write(credentials('scheduler')));
    expect(error).toBeInstanceOf(CredentialFileError);
    expect((error as CredentialFileError).path).toBe(dir);
    expect(error.message).toBe(`credentials directory ${dir} is not a directory`);
    expect(await fs.readdir(root)).toEqual(['credentials']);
    expect(await fs.readFile(dir, 'utf8')).toBe('not a directory');
  });

  it('refuses a file that breaks the contract before touching the disk', async () => {
    const store = new CredentialDirectory(dir);
    await expect(store.write({ ...credentials('scheduler'), password: '' })).rejects.toThrow(
      /field "password" must be a non-empty string/,
    );
    await expect(
      store.write({ ...credentials('scheduler'), targets: { nova_api: { url: '' } } }),
    ).rejects.toThrow(TypeError);
    await expect(fs.stat(dir)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('CredentialDirectory pending files', () => {
  it('writes, lists, promotes and discards pending credentials', async () => {
    const store = new CredentialDirectory(dir);
    expect(await store.listPending()).toEqual([]);
    await store.write(credentials('scheduler', 'current'));
    await store.writePending(credentials('scheduler', 'next'));
    await store.writePending(credentials('api', 'first'));

    expect(store.pendingPath('scheduler')).toBe(path.join(dir, '.scheduler.json.pending'));
    expect(await store.listPending()).toEqual(['api', 'scheduler']);
    expect((await store.read('scheduler'))?.password).toBe(pw('current'));
    expect((await store.readPending('scheduler'))?.password).toBe(pw('next'));
    expect(await store.read('api')).toBeUndefined();

    await store.promote('scheduler');
    expect((await store.read('scheduler'))?.password).toBe(pw('next'));
    expect(await store.readPending('scheduler')).toBeUndefined();
    expect(await modeOf(store.path('scheduler'))).toBe(0o600);

    await store.discardPending('api');
    await store.discardPending('api'); // nothing left: not an error
    expect(await store.listPending()).toEqual([]);
    expect(await store.read('api')).toBeUndefined();
    expect((await fs.readdir(dir)).sort()).toEqual(['scheduler.json']);
  });

  it('refuses to promote when nothing is pending', async () => {
    const store = new CredentialDirectory(dir);
    await store.write(credentials('scheduler', 'current'));
    const error = await failure(store.promote('scheduler'));
    expect(error).toBeInstanceOf(CredentialFileError);
    expect(error.message).toContain('.scheduler.json.pending');
    expect((await store.read('scheduler'))?.password).toBe(pw('current'));
  });

  it('lists only well-named pending files', async () => {
    await fs.mkdir(dir);
    for (const name of [
      '.scheduler.json.pending',
      '.scheduler.json.pending.0a1b.tmp',
      '.Bad.json.pending',
      'api.json.pending',
      '.x-y.json.pending',
      'scheduler.json',
    ]) {
      await fs.writeFile(path.join(dir, name), '{}');
    }
    expect(await new CredentialDirectory(dir).listPending()).toEqual(['scheduler']);
  });

  it('checks a pending file like a final one', async () => {
    const store = new CredentialDirectory(dir);
    await fs.mkdir(dir);
    await fs.writeFile(store.pendingPath('scheduler'), JSON.stringify(credentials('api')));
    await expect(store.readPending('scheduler')).rejects.toThrow(/field "component" must be "scheduler"/);
  });
});

describe('CredentialDirectory reading damaged files', () => {
  it('reports malformed JSON by path and position, never by content', async () => {
    const store = new CredentialDirectory(dir);
    await fs.mkdir(dir);
    const file = store.path('scheduler');
    await fs.writeFile(file, `{"component": "scheduler", "password": ${SECRET}}`, { mode: 0o600 });
    const error = await failure(store.read('scheduler'));
    expect(error).toBeInstanceOf(CredentialFileError);
    expect(error.message).toContain(file);
    expect(error.message).toMatch(/not valid JSON \(line 1, column 40\)/);
    for (const part of ['FAKE', 'SECRET', '4b1d', 'never-print', '"password"', '"component"']) {
      expect(error.message).not.toContain(part);
      expect((error as CredentialFileError).hint ?? '').not.toContain(part);
    }
    expect((error as CredentialFileError).hint).toContain('--component scheduler');
  });

  it('names a missing field', async () => {
    const store = new CredentialDirectory(dir);
    await fs.mkdir(dir);
    const rest: Partial<CredentialFile> = credentials('scheduler', SECRET);
    delete rest.password;
    await fs.writeFile(store.path('scheduler'), JSON.stringify(rest), { mode: 0o600 });
    const error = await failure(store.read('scheduler'));
    expect(error.message).toBe(`${store.path('scheduler')}: field "password" must be a non-empty string`);
  });

  it('tightens a file readable by others to 0600 and warns', async () => {
    const warnings: string[] = [];
    const store = new CredentialDirectory(dir, { onWarning: (m) => warnings.push(m) });
    await store.write(credentials('scheduler', SECRET));
    expect(await store.read('scheduler')).toBeDefined();
    expect(warnings).toEqual([]);

    await fs.chmod(store.path('scheduler'), 0o644);
    expect((await store.read('scheduler'))?.password).toBe(pw(SECRET));
    expect(await modeOf(store.path('scheduler'))).toBe(0o600);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(store.path('scheduler'));
    expect(warnings[0]).toContain('0644');
    expect(warnings[0]).not.toContain(pw(SECRET));

    await store.read('scheduler');
    expect(warnings).toHaveLength(1);
  });

  it('tightens a loose pending file too, even without a warning callback', async () => {
    const store = new CredentialDirectory(dir);
    await store.writePending(credentials('scheduler'));
    await fs.chmod(store.pendingPath('scheduler'), 0o640);
    await store.readPending('scheduler');
    expect(await modeOf(store.pendingPath('scheduler'))).toBe(0o600);
  });

  it('refuses a directory or a FIFO where the file should be, without hanging', async () => {
    const store = new CredentialDirectory(dir);
    await fs.mkdir(store.path('api'), { recursive: true });
    await expect(store.read('api')).rejects.toThrow(/not a regular file/);
    execFileSync('mkfifo', ['-m', '600', store.path('scheduler')]);
    await expect(store.read('scheduler')).rejects.toThrow(/not a regular file/);
  });
});

describe('component names', () => {
  const bad = ['', '../etc', '..', 'a/b', 'Scheduler', '1api', '_api', 'a-b', 'a.b', 'api\n', ' api'];

  it.each(bad)('rejects %j everywhere', async (name) => {
    const store = new CredentialDirectory(dir);
    expect(() => store.path(name)).toThrow(TypeError);
    expect(() => store.pendingPath(name)).toThrow(TypeError);
    await expect(store.read(name)).rejects.toThrow(TypeError);
    await expect(store.readPending(name)).rejects.toThrow(TypeError);
    await expect(store.write(credentials(name))).rejects.toThrow(TypeError);
    await expect(store.writePending(credentials(name))).rejects.toThrow(TypeError);
    await expect(store.promote(name)).rejects.toThrow(TypeError);
    await expect(store.discardPending(name)).rejects.toThrow(TypeError);
    expect(await fs.readdir(root)).toEqual([]);
  });

  it.each(['api', 'scheduler', 'cell_1', 'a'])('accepts %j', (name) => {
    expect(new CredentialDirectory(dir).path(name)).toBe(path.join(dir, `${name}.json`));
  });
});

/** The error of a promise, asserting it is a refusal (exit 2) naming `where`. */
async function refusal(promise: Promise<unknown>, where: string): Promise<CredentialFileError> {
  const error = await failure(promise);
  expect(error).toBeInstanceOf(CredentialFileError);
  const refused = error as CredentialFileError;
  expect(refused.exitCode).toBe(2);
  expect(refused.path).toBe(where);
  expect(refused.message).toContain(where);
  return refused;
}

describe('what the credential directory trusts', () => {
  it.each([0o770, 0o777, 0o1777, 0o720])(
    'refuses an existing directory writable by group or others (mode %o), with the chmod to run, writing nothing',
    async (mode) => {
      await fs.mkdir(dir);
      await fs.chmod(dir, mode);
      const store = new CredentialDirectory(dir);
      const error = await refusal(store.listPending(), dir);
      expect(error.message).toContain(`is writable by group or others (mode 0${mode.toString(8)})`);
      expect(error.hint).toContain(`chmod 0700 ${dir}`);
      await refusal(store.read('scheduler'), dir);
      await refusal(store.write(credentials('scheduler')), dir);
      await refusal(store.discardPending('scheduler'), dir);
      expect(await fs.readdir(dir)).toEqual([]);
      expect(await modeOf(dir)).toBe(mode & 0o777);
    },
  );

  it('refuses a directory owned by another user', async () => {
    await fs.mkdir(dir, { mode: 0o700 });
    const uid = process.geteuid?.() ?? 0;
    const store = new CredentialDirectory(dir, { uid: uid + 1 });
    const error = await refusal(store.read('scheduler'), dir);
    expect(error.message).toContain(
      `is owned by uid ${uid}, not by the user running dbwarden (uid ${uid + 1})`,
    );
  });

  it('checks the directory a symlinked path leads to', async () => {
    const real = path.join(root, 'real');
    await fs.mkdir(real, { mode: 0o700 });
    await fs.symlink(real, dir);
    const store = new CredentialDirectory(dir);
    await store.write(credentials('scheduler'));
    expect(await fs.readdir(real)).toEqual(['scheduler.json']);
    await fs.chmod(real, 0o770);
    await refusal(new CredentialDirectory(dir).read('scheduler'), dir);
  });

  it('refuses a symlink at a credential path and never changes the mode of what it points to', async () => {
    const store = new CredentialDirectory(dir);
    await store.write(credentials('api'));
    // A file of ours elsewhere, readable by others: the old code chmod-ed it through the link.
    const elsewhere = path.join(root, 'elsewhere.json');
    await fs.writeFile(elsewhere, formatCredentialFile(credentials('scheduler')), { mode: 0o644 });
    await fs.chmod(elsewhere, 0o644);
    await fs.symlink(elsewhere, store.path('scheduler'));
    await fs.symlink(elsewhere, store.pendingPath('api'));
    const error = await refusal(store.read('scheduler'), store.path('scheduler'));
    expect(error.message).toContain('is a symbolic link');
    expect(error.hint).toContain(`rm ${store.path('scheduler')}`);
    await refusal(store.readPending('api'), store.pendingPath('api'));
    expect(await modeOf(elsewhere)).toBe(0o644);
    // Replacing it replaces the link, not its target.
    await store.write(credentials('scheduler', 'replaced'));
    expect((await fs.lstat(store.path('scheduler'))).isFile()).toBe(true);
    expect(await fs.readFile(elsewhere, 'utf8')).toBe(formatCredentialFile(credentials('scheduler')));
  });

  it.each([0o660, 0o606, 0o620])('refuses a file writable by group or others (mode %o)', async (mode) => {
    const store = new CredentialDirectory(dir);
    await store.write(credentials('scheduler'));
    await fs.chmod(store.path('scheduler'), mode);
    const error = await refusal(store.read('scheduler'), store.path('scheduler'));
    expect(error.message).toContain(`is writable by group or others (mode 0${mode.toString(8)})`);
    expect(await modeOf(store.path('scheduler'))).toBe(mode);
  });

  it('refuses a file owned by another user (as root: chown)', async () => {
    expect(process.geteuid?.(), 'the suite runs as root here (.ci/run); chown needs it').toBe(0);
    const store = new CredentialDirectory(dir);
    await store.write(credentials('scheduler'));
    await fs.chown(store.path('scheduler'), 65534, 65534);
    const error = await refusal(store.read('scheduler'), store.path('scheduler'));
    expect(error.message).toContain('is owned by uid 65534, not by the user running dbwarden (uid 0)');
  });

  it.each([
    [
      'a password dbwarden never generates',
      { password: 'a' },
      'holds a password that dbwarden did not generate',
    ],
    [
      'a 43-character password that is no base64url of 32 bytes',
      { password: `${'A'.repeat(42)}B` },
      'holds a password that dbwarden did not generate',
    ],
    [
      'another login',
      { username: 'nova_api' },
      `names another login than component "scheduler"'s (nova_scheduler)`,
    ],
  ])('refuses a file and a pending file with %s (exit 2)', async (_label, change, problem) => {
    const store = new CredentialDirectory(dir, { app: 'nova' });
    await fs.mkdir(dir, { mode: 0o700 });
    const text = formatCredentialFile({ ...credentials('scheduler'), ...change });
    await fs.writeFile(store.path('scheduler'), text, { mode: 0o600 });
    await fs.writeFile(store.pendingPath('scheduler'), text, { mode: 0o600 });
    for (const [read, where] of [
      [() => store.read('scheduler'), store.path('scheduler')],
      [() => store.readPending('scheduler'), store.pendingPath('scheduler')],
    ] as const) {
      // One at a time: a second promise made up front would reject unhandled.
      const error = await refusal(read(), where);
      expect(error.message).toContain(problem);
      expect(error.message).not.toContain(pw('scheduler-pw'));
      expect(error.hint).toContain('dbwarden apply --rotate-passwords --component scheduler');
    }
  });

  it('accepts what it wrote itself, with the app given', async () => {
    const store = new CredentialDirectory(dir, { app: 'nova' });
    await store.write(credentials('scheduler'));
    expect(await store.read('scheduler')).toEqual(credentials('scheduler'));
  });
});

describe('temporary files of killed runs', () => {
  it('names temporary files with one leading dot', async () => {
    const store = new CredentialDirectory(dir);
    await store.write(credentials('scheduler'));
    // Catch the temp file of a pending write as it is made.
    const made: string[] = [];
    const watcher = (await import('node:fs')).watch(dir, (_event, name) => {
      if (typeof name === 'string') made.push(name);
    });
    await store.writePending(credentials('scheduler', 'next'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    watcher.close();
    const temps = made.filter((n) => n.endsWith('.tmp'));
    expect(temps.length).toBeGreaterThan(0);
    for (const name of temps) expect(name).toMatch(/^\.scheduler\.json\.pending\.[0-9a-f]{12}\.tmp$/);
  });

  it('removeLeftovers removes dbwarden temp files (also the old doubled-dot names), nothing else', async () => {
    const store = new CredentialDirectory(dir);
    await store.write(credentials('api'));
    await store.writePending(credentials('api', 'next'));
    const leftovers = [
      '..worker.json.pending.0123456789ab.tmp',
      '.worker.json.pending.0123456789ab.tmp',
      '.worker.json.abcdef012345.tmp',
    ];
    const others = ['.notes.tmp', 'worker.json.0123456789ab.tmp', '.worker.json.pending.xyz.tmp', 'keep.txt'];
    for (const name of [...leftovers, ...others]) {
      await fs.writeFile(path.join(dir, name), formatCredentialFile(credentials('worker')), { mode: 0o600 });
    }
    // A directory of such a name is not dbwarden's doing: left alone.
    await fs.mkdir(path.join(dir, '.worker.json.111111111111.tmp'));
    expect(await store.removeLeftovers()).toEqual(leftovers.map((n) => path.join(dir, n)).sort());
    expect((await fs.readdir(dir)).sort()).toEqual(
      ['.api.json.pending', 'api.json', '.worker.json.111111111111.tmp', ...others].sort(),
    );
    expect(await store.removeLeftovers()).toEqual([]);
  });

  it('removeLeftovers on a directory that does not exist does nothing', async () => {
    expect(await new CredentialDirectory(dir).removeLeftovers()).toEqual([]);
    await expect(fs.stat(dir)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
