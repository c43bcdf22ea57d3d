/**
 * The credential directory sink (design.md section 3): one
 * `<dir>/<component>.json` per component, mode 0600, in a directory of mode
 * 0700, always replaced atomically.
 *
 * Pending files (`<dir>/.<component>.json.pending`) make password changes
 * crash-safe: a new password is written to its pending file before the
 * server transaction that sets it commits, and promoted over the final file
 * after. After a crash, listPending() names the components whose password
 * may or may not have reached the server.
 *
 * Everything read here is untrusted input (docs/config.md): the directory must
 * be owned by the running user and writable by nobody else (one dbwarden
 * creates gets 0700); a file is opened without following symlinks and
 * refused unless it is a regular file owned by the running user, writable by
 * nobody else, naming the component's own login and holding a password of
 * dbwarden's generated form. Refusals exit 2. Connection URLs in a file are
 * never used to connect (src/runner/credentials.ts builds them from the config).
 *
 * No message, warning or error ever includes a file's contents.
 */
import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import {
  constants,
  type FileHandle,
  chmod,
  lstat,
  mkdir,
  open,
  readdir,
  rename,
  stat,
  unlink,
} from 'node:fs/promises';
import path from 'node:path';
import { DbwardenError, ExitCode } from '../errors.js';
import { loginName, NAME_PATTERN, NAME_SOURCE } from '../policy/names.js';
import { compareText } from '../util/compare.js';
import { directoryProblem, fileProblem, octal, TEMP_FILE, tempName } from './file-checks.js';
import { GENERATED_PASSWORD_FORM, isGeneratedPassword } from './password.js';
import type { CredentialFile, CredentialStore } from './store.js';

// The data every sink holds; declared with the CredentialStore interface, known from here too.
export type { CredentialFile } from './store.js';

/** Component names; also keeps every file inside the directory. */
export { NAME_PATTERN as COMPONENT_NAME } from '../policy/names.js';

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
const PENDING_FILE = new RegExp(`^\\.(${NAME_SOURCE})\\.json\\.pending$`);
/** Target names that are safe to repeat in a message; others are referred to by position. */
const PRINTABLE_TARGET = /^[A-Za-z0-9_.-]{1,63}$/;

/** What the operator can do about a damaged credential file. */
const REPAIR = (component: string) =>
  `restore it from a backup, or run \`dbwarden apply --rotate-passwords --component ${component}\` to issue a new password`;

/** What the operator can do about a credential file dbwarden did not write. */
const UNTRUSTED_FILE = (filePath: string, component: string) =>
  `dbwarden refuses credentials it did not write: someone who can write the credentials directory may have planted it. ` +
  `If it is not dbwarden's own file, delete it (\`rm ${filePath}\`), find out who wrote it, then run \`dbwarden apply --rotate-passwords --component ${component}\` (docs/config.md)`;

/** A credential file that cannot be read, parsed or written. Names the path, never the contents. */
export class CredentialFileError extends DbwardenError {
  override readonly name = 'CredentialFileError';
  /** 1 for I/O failures and damaged files; 2 for files and directories refused as untrusted. */
  readonly exitCode: ExitCode;
  /** The file (or directory) concerned. */
  readonly path: string;

  constructor(
    message: string,
    options: { path: string; hint?: string; cause?: unknown; exitCode?: ExitCode },
  ) {
    super(message, options);
    this.path = options.path;
    this.exitCode = options.exitCode ?? ExitCode.runtimeFailure;
  }
}

/** Throws a TypeError unless `component` matches COMPONENT_NAME. */
export function assertComponentName(component: string): void {
  if (typeof component !== 'string' || !NAME_PATTERN.test(component)) {
    throw new TypeError(
      `invalid component name ${JSON.stringify(component)}: expected lowercase letters, digits and "_", starting with a letter`,
    );
  }
}

/** The file's text as written: fixed key order, targets sorted by name, trailing newline. */
export function formatCredentialFile(file: CredentialFile): string {
  const targets = Object.fromEntries(
    Object.entries(file.targets)
      .sort(([a], [b]) => compareText(a, b))
      .map(([name, target]) => [name, { url: target.url }]),
  );
  const ordered = { component: file.component, username: file.username, password: file.password, targets };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

export interface CredentialDirectoryOptions {
  /** Told about problems that were repaired, such as a file readable by others. */
  onWarning?: (message: string) => void;
  /**
   * The app: a file whose `username` is not the component's login
   * (`<app>_<component>`) is refused. Without it, any username is accepted.
   */
  app?: string;
  /** The user whose files are trusted; default the effective uid of this process. */
  uid?: number;
}

export class CredentialDirectory implements CredentialStore {
  readonly dir: string;
  readonly #onWarning: (message: string) => void;
  readonly #app: string | undefined;
  readonly #uid: number;
  /** Set once the directory was found (or made) owned by us and writable by nobody else. */
  #trusted = false;

  constructor(dir: string, options: CredentialDirectoryOptions = {}) {
    this.dir = dir;
    this.#onWarning = options.onWarning ?? (() => undefined);
    this.#app = options.app;
    this.#uid = options.uid ?? process.geteuid?.() ?? 0;
  }

  /** The directory. */
  get location(): string {
    return this.dir;
  }

  /** `<dir>/<component>.json`. */
  path(component: string): string {
    assertComponentName(component);
    return path.join(this.dir, `${component}.json`);
  }

  /** `<dir>/.<component>.json.pending`. */
  pendingPath(component: string): string {
    assertComponentName(component);
    return path.join(this.dir, `.${component}.json.pending`);
  }

  /** The component's credentials, or undefined when it has no file. */
  async read(component: string): Promise<CredentialFile | undefined> {
    return this.#read(this.path(component), component);
  }

  /** Replaces the component's file atomically (mode 0600). */
  async write(file: CredentialFile): Promise<void> {
    await this.#writeAtomic(this.path(checkedForWrite(file)), formatCredentialFile(file));
  }

  /** Writes the component's file unless it already holds exactly `file`; returns the path written, if any. */
  async sync(file: CredentialFile): Promise<string[]> {
    const current = await this.read(checkedForWrite(file));
    if (current !== undefined && formatCredentialFile(current) === formatCredentialFile(file)) return [];
    await this.write(file);
    return [this.path(file.component)];
  }

  /** Deletes the component's file (not its pending file); returns its path, or nothing when there was none. */
  async remove(component: string): Promise<string[]> {
    const file = this.path(component);
    return (await this.#unlinkIfPresent(file)) ? [file] : [];
  }

  /** Writes credentials that are about to be committed on the server, atomically (mode 0600). */
  async writePending(file: CredentialFile): Promise<void> {
    await this.#writeAtomic(this.pendingPath(checkedForWrite(file)), formatCredentialFile(file));
  }

  /** The component's pending credentials, or undefined when there are none. */
  async readPending(component: string): Promise<CredentialFile | undefined> {
    return this.#read(this.pendingPath(component), component);
  }

  /** Components that have a pending file, sorted. Empty when the directory does not exist. */
  async listPending(): Promise<string[]> {
    return (await this.#names())
      .map((name) => PENDING_FILE.exec(name)?.[1])
      .filter((component) => component !== undefined)
      .sort(compareText);
  }

  /** Makes the pending credentials the component's credentials (atomic rename, then fsync of the directory). */
  async promote(component: string): Promise<void> {
    const pending = this.pendingPath(component);
    await this.#trustDirectory(false);
    try {
      await rename(pending, this.path(component));
    } catch (error) {
      if (errorCode(error) === 'ENOENT') {
        throw new CredentialFileError(`${pending}: no pending credentials to promote for "${component}"`, {
          path: pending,
          cause: error,
        });
      }
      throw ioError('promote', pending, error);
    }
    await this.#syncDir();
  }

  /**
   * Removes the component's pending credentials; nothing to do when there are
   * none, and then nothing is written (so a no-op run works on a read-only
   * directory).
   */
  async discardPending(component: string): Promise<void> {
    await this.#unlinkIfPresent(this.pendingPath(component));
  }

  /**
   * Removes temporary files of writes that a killed run left behind (they may
   * hold a password). Call only while holding the run lock, so no write of
   * another run is under way. Returns the paths removed.
   */
  async removeLeftovers(): Promise<string[]> {
    const removed: string[] = [];
    for (const name of (await this.#names()).filter((n) => TEMP_FILE.test(n)).sort(compareText)) {
      const file = path.join(this.dir, name);
      // Only files (or links) of that name: a directory is not dbwarden's doing.
      if ((await lstat(file).catch(() => undefined))?.isDirectory() !== false) continue;
      if (await this.#unlinkIfPresent(file, { sync: false })) removed.push(file);
    }
    if (removed.length > 0) await this.#syncDir();
    return removed;
  }

  /** The names in the directory; none when it does not exist. */
  async #names(): Promise<string[]> {
    if (!(await this.#trustDirectory(false))) return [];
    try {
      return await readdir(this.dir);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return [];
      throw ioError('list', this.dir, error);
    }
  }

  /** Unlinks `file` (a symlink itself, never its target) if it exists; whether it did. */
  async #unlinkIfPresent(file: string, options: { sync: boolean } = { sync: true }): Promise<boolean> {
    if (!(await this.#trustDirectory(false))) return false;
    try {
      // lstat first: on a read-only file system unlink fails with EROFS even for a missing file.
      await lstat(file);
      await unlink(file);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false;
      throw ioError('remove', file, error);
    }
    if (options.sync) await this.#syncDir();
    return true;
  }

  /**
   * Checks that the directory (after symlinks in its path) is owned by the
   * running user and writable by nobody else, creating it with mode 0700 when
   * `create` is set. Returns whether it exists. Checked once per instance.
   */
  async #trustDirectory(create: boolean): Promise<boolean> {
    if (this.#trusted) return true;
    let info = await statOrUndefined(this.dir);
    if (info === undefined) {
      if (!create) return false;
      await this.#makeDirectory();
      info = await statOrUndefined(this.dir);
      if (info === undefined) throw ioError('create', this.dir, undefined);
    }
    const problem = directoryProblem(info, this.#uid);
    if (problem !== undefined) {
      throw new CredentialFileError(`credentials directory ${this.dir} ${problem}`, {
        path: this.dir,
        exitCode: ExitCode.invalidInput,
        hint: this.#directoryHint(info),
      });
    }
    this.#trusted = true;
    return true;
  }

  #directoryHint(info: Stats): string {
    if (!info.isDirectory())
      return 'point credentials.dir at a directory, or at a path that does not exist yet';
    const fix =
      info.uid === this.#uid
        ? `run \`chmod 0700 ${this.dir}\``
        : `run dbwarden as the directory's owner (uid ${info.uid}), or give it to uid ${this.#uid} (\`chown ${this.#uid} ${this.dir} && chmod 0700 ${this.dir}\`)`;
    return `dbwarden reads passwords from it, so nobody else may be able to write it: ${fix}, and check that every file in it is one dbwarden wrote (docs/config.md)`;
  }

  /** Makes the directory with mode 0700 (exactly: the umask may take bits away). */
  async #makeDirectory(): Promise<void> {
    try {
      await mkdir(path.dirname(this.dir), { recursive: true, mode: DIR_MODE });
      // Not recursive: if someone else made it in between, this fails and the check refuses theirs.
      await mkdir(this.dir, { mode: DIR_MODE });
      await chmod(this.dir, DIR_MODE);
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw ioError('create', this.dir, error);
    }
  }

  async #read(filePath: string, component: string): Promise<CredentialFile | undefined> {
    if (!(await this.#trustDirectory(false))) return undefined;
    let handle: FileHandle;
    try {
      // O_NOFOLLOW: a symlink planted at the path is refused, never followed.
      // O_NONBLOCK: a FIFO planted at the path must not hang the open.
      handle = await open(filePath, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      if (errorCode(error) === 'ELOOP') throw this.#untrusted(filePath, component, 'is a symbolic link');
      throw ioError('read', filePath, error);
    }
    let text: string;
    try {
      await this.#checkFile(handle, filePath, component);
      text = await handle.readFile('utf8');
    } catch (error) {
      if (error instanceof CredentialFileError) throw error;
      throw ioError('read', filePath, error);
    } finally {
      await handle.close();
    }
    return this.#checkContent(parseCredentialFile(text, filePath, component), filePath);
  }

  /** Refuses a file someone else could have written; tightens one others could read (through the handle). */
  async #checkFile(handle: FileHandle, filePath: string, component: string): Promise<void> {
    const found = fileProblem(await handle.stat(), this.#uid);
    if (found === undefined) return;
    if (found.action === 'refuse') throw this.#untrusted(filePath, component, found.problem);
    await handle.chmod(FILE_MODE);
    this.#onWarning(`${filePath} ${found.problem}; changed its mode to ${octal(FILE_MODE)}`);
  }

  /** Refuses content dbwarden never writes: another login, a password not of its generated form. */
  #checkContent(file: CredentialFile, filePath: string): CredentialFile {
    const { component } = file;
    if (this.#app !== undefined && file.username !== loginName(this.#app, component)) {
      throw this.#untrusted(
        filePath,
        component,
        `names another login than component "${component}"'s (${loginName(this.#app, component)})`,
      );
    }
    if (!isGeneratedPassword(file.password)) {
      throw this.#untrusted(
        filePath,
        component,
        `holds a password that dbwarden did not generate (its passwords are ${GENERATED_PASSWORD_FORM})`,
      );
    }
    return file;
  }

  #untrusted(filePath: string, component: string, problem: string): CredentialFileError {
    return new CredentialFileError(`${filePath} ${problem}: refused`, {
      path: filePath,
      exitCode: ExitCode.invalidInput,
      hint: UNTRUSTED_FILE(filePath, component),
    });
  }

  async #writeAtomic(finalPath: string, data: string): Promise<void> {
    const temp = path.join(this.dir, tempName(path.basename(finalPath), randomBytes(6).toString('hex')));
    let handle: FileHandle | undefined;
    let renamed = false;
    try {
      await this.#trustDirectory(true);
      handle = await open(
        temp,
        constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW,
        FILE_MODE,
      );
      await handle.chmod(FILE_MODE);
      await handle.writeFile(data, 'utf8');
      await handle.sync();
      const opened = handle;
      handle = undefined;
      await opened.close();
      await rename(temp, finalPath);
      renamed = true;
      await this.#syncDir();
    } catch (error) {
      const cleanupFailures: unknown[] = [];
      if (handle !== undefined) await handle.close().catch((e: unknown) => cleanupFailures.push(e));
      if (!renamed) {
        await unlink(temp).catch((e: unknown) => {
          if (errorCode(e) !== 'ENOENT' && errorCode(e) !== 'ENOTDIR') cleanupFailures.push(e);
        });
      }
      if (error instanceof CredentialFileError) throw error;
      const failure = ioError('write', finalPath, error);
      if (cleanupFailures.length === 0) throw failure;
      throw new CredentialFileError(`${failure.message}; also could not remove ${temp}`, {
        path: finalPath,
        hint: failure.hint,
        cause: new AggregateError([error, ...cleanupFailures]),
      });
    }
  }

  /** Makes renames and removals in the directory durable. */
  async #syncDir(): Promise<void> {
    let handle: FileHandle | undefined;
    try {
      handle = await open(this.dir, constants.O_RDONLY);
      await handle.sync();
    } catch (error) {
      throw ioError('sync', this.dir, error);
    } finally {
      await handle?.close();
    }
  }
}

async function statOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await stat(p);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw ioError('read', p, error);
  }
}

/** Parses and checks a credential file's text. Errors name the path and the problem, never the contents. */
export function parseCredentialFile(text: string, filePath: string, component: string): CredentialFile {
  const fail = (problem: string) =>
    new CredentialFileError(`${filePath}: ${problem}`, { path: filePath, hint: REPAIR(component) });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // JSON.parse's own message quotes the input: report only where it fails.
    const offset = jsonErrorOffset(text);
    throw fail(offset === undefined ? 'not valid JSON' : `not valid JSON (${lineColumn(text, offset)})`);
  }
  const problem = findProblem(value, component);
  if (problem !== undefined) throw fail(problem);
  const file = value as CredentialFile;
  return {
    component: file.component,
    username: file.username,
    password: file.password,
    targets: Object.fromEntries(
      Object.entries(file.targets)
        .sort(([a], [b]) => compareText(a, b))
        .map(([name, target]) => [name, { url: target.url }]),
    ),
  };
}

function checkedForWrite(file: CredentialFile): string {
  assertComponentName(file.component);
  const problem = findProblem(file, file.component);
  if (problem !== undefined) throw new TypeError(`credentials for "${file.component}": ${problem}`);
  return file.component;
}

/** The first way `value` breaks the contract, described without quoting it. */
function findProblem(value: unknown, component: string): string | undefined {
  if (!isRecord(value)) return 'expected a JSON object';
  if (value.component !== component) return `field "component" must be "${component}"`;
  for (const field of ['username', 'password'] as const) {
    if (typeof value[field] !== 'string' || value[field] === '') {
      return `field "${field}" must be a non-empty string`;
    }
  }
  if (!isRecord(value.targets)) return 'field "targets" must be an object';
  let position = 0;
  for (const [name, target] of Object.entries(value.targets)) {
    position++;
    const label = PRINTABLE_TARGET.test(name) ? `targets.${name}` : `targets (entry ${position})`;
    if (!isRecord(target)) return `field "${label}" must be an object`;
    if (typeof target.url !== 'string' || target.url === '') {
      return `field "${label}.url" must be a non-empty string`;
    }
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errorCode(error: unknown): string | undefined {
  return isRecord(error) && typeof error.code === 'string' ? error.code : undefined;
}

function ioError(action: string, filePath: string, error: unknown): CredentialFileError {
  const code = errorCode(error);
  return new CredentialFileError(`cannot ${action} ${filePath}${code === undefined ? '' : ` (${code})`}`, {
    path: filePath,
    hint: 'check that the credentials directory is a directory dbwarden may write to, on a file system with free space',
    cause: error,
  });
}

function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  return `line ${line}, column ${column}`;
}

/** Thrown inside JsonScanner at the offset of the first syntax error; caught by jsonErrorOffset. */
class SyntaxAt {
  constructor(readonly offset: number) {}
}

const JSON_SPACE = ' \t\n\r';
const JSON_ESCAPES = '"\\/bfnrt';
const JSON_LITERALS = ['true', 'false', 'null'];
const JSON_NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/**
 * A recursive-descent scanner of RFC 8259 JSON that only moves an offset: it
 * keeps no value and copies no text, so nothing read can reach an error.
 */
class JsonScanner {
  private i = 0;

  constructor(private readonly text: string) {}

  /** The whole text is one value, with optional white space around it. */
  document(): void {
    this.value();
    this.skipSpace();
    if (this.i < this.text.length) this.fail();
  }

  private fail(): never {
    throw new SyntaxAt(this.i);
  }

  private skipSpace(): void {
    while (this.i < this.text.length && JSON_SPACE.includes(this.text.charAt(this.i))) this.i++;
  }

  private expect(char: string): void {
    if (this.text.charAt(this.i) !== char) this.fail();
    this.i++;
  }

  private value(): void {
    this.skipSpace();
    const c = this.text.charAt(this.i);
    if (c === '{') return this.container('}');
    if (c === '[') return this.container(']');
    if (c === '"') return this.string();
    if (!this.literal()) this.number();
  }

  /** An object or array, its opening bracket at the offset. */
  private container(close: '}' | ']'): void {
    this.i++;
    this.skipSpace();
    if (this.text.charAt(this.i) === close) {
      this.i++;
      return;
    }
    for (;;) {
      if (close === '}') this.memberName();
      this.value();
      this.skipSpace();
      if (this.text.charAt(this.i) !== ',') return this.expect(close);
      this.i++;
    }
  }

  /** `"name" :` before each value of an object. */
  private memberName(): void {
    this.skipSpace();
    this.string();
    this.skipSpace();
    this.expect(':');
  }

  private string(): void {
    this.expect('"');
    for (;;) {
      if (this.i >= this.text.length) this.fail();
      const c = this.text.charCodeAt(this.i);
      if (c === 0x22) {
        this.i++;
        return;
      }
      if (c < 0x20) this.fail();
      if (c === 0x5c) this.escape();
      this.i++;
    }
  }

  /** The character after a backslash; leaves the offset on the escape's last character. */
  private escape(): void {
    this.i++;
    const escape = this.text.charAt(this.i);
    if (escape === 'u') return this.hexDigits();
    if (escape === '' || !JSON_ESCAPES.includes(escape)) this.fail();
  }

  /** The four digits of a \u escape. */
  private hexDigits(): void {
    for (let k = 1; k <= 4; k++) {
      this.i++;
      if (!/[0-9A-Fa-f]/.test(this.text.charAt(this.i))) this.fail();
    }
  }

  private literal(): boolean {
    const literal = JSON_LITERALS.find((l) => this.text.startsWith(l, this.i));
    if (literal === undefined) return false;
    this.i += literal.length;
    return true;
  }

  private number(): void {
    JSON_NUMBER.lastIndex = this.i;
    if (!JSON_NUMBER.test(this.text)) this.fail();
    this.i = JSON_NUMBER.lastIndex;
  }
}

/**
 * Offset of the first JSON syntax error in `text` (RFC 8259), or undefined
 * if none is found. Only positions come out of it, never text.
 */
export function jsonErrorOffset(text: string): number | undefined {
  try {
    new JsonScanner(text).document();
    return undefined;
  } catch (error) {
    if (error instanceof SyntaxAt) return error.offset;
    if (error instanceof RangeError) return undefined; // nested too deeply to scan
    throw error;
  }
}
