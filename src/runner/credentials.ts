/**
 * Passwords across a run: which logins need a new one, which keep theirs,
 * and the credential files that tell each component how to connect.
 *
 * Crash safety: a new password is written to a pending file before the
 * transaction that sets it commits. The next run (holding the locks) logs in
 * with a pending password to learn whether it was committed, and promotes or
 * discards it, so no password is ever lost and no file ever lies for long.
 */
import fs from 'node:fs/promises';
import {
  type CredentialFile,
  CredentialDirectory,
  CredentialFileError,
} from '../credentials/credential-file.js';
import { loginUrl } from '../credentials/login-url.js';
import { generatePassword } from '../credentials/password.js';
import type { Catalog, Change, DesiredComponent, DesiredState } from '../plan/types.js';
import type { Deployment } from '../policy/model.js';
import type { OpenTarget } from './targets.js';

export function credentialDirectory(
  deployment: Deployment,
  warn: (message: string) => void,
): CredentialDirectory {
  const dir = deployment.config.credentials.dir;
  if (dir === undefined) throw new TypeError('config has no credentials directory');
  return new CredentialDirectory(dir, { onWarning: warn });
}

/**
 * Settles pending passwords left by an interrupted run, by logging in with
 * them on every target they name. Call only while holding every target's lock.
 * Returns the components whose new password some servers took and others did
 * not (a run that died between servers): apply sets it on every server.
 */
export async function settlePendingPasswords(
  store: CredentialDirectory,
  targets: readonly OpenTarget[],
  log: (message: string) => void,
): Promise<Set<string>> {
  const resync = new Set<string>();
  for (const component of await store.listPending()) {
    const pending = await store.readPending(component);
    if (!pending) continue;
    const accepted: string[] = [];
    const refused: string[] = [];
    for (const t of targets) {
      const url = pending.targets[t.target.name]?.url;
      if (url === undefined) continue;
      ((await t.dialect.canLogIn(url, t.target.name)) ? accepted : refused).push(t.target.name);
    }
    if (accepted.length === 0) {
      await store.discardPending(component);
      log(
        refused.length === 0
          ? `credentials: discarded the pending password of ${component} (none of its targets is configured)`
          : `credentials: an interrupted run had not committed a new password for ${component}; discarded it`,
      );
      continue;
    }
    await store.promote(component);
    log(
      `credentials: an interrupted run had set a new password for ${component}; saved it to ${store.path(component)}`,
    );
    if (refused.length > 0) {
      resync.add(component);
      log(
        `credentials: targets ${refused.join(', ')} still have the old password of ${component}; setting the new one everywhere`,
      );
    }
  }
  return resync;
}

/** Logins that exist but whose password nobody here knows: apply cannot write their credentials. */
export async function loginsWithoutCredentials(
  desired: DesiredState,
  catalog: Catalog,
  store: CredentialDirectory,
  rotating: ReadonlySet<string>,
): Promise<DesiredComponent[]> {
  const existing = new Set(Object.values(catalog.clusters).flatMap((c) => c.roles.map((r) => r.name)));
  const lacking: DesiredComponent[] = [];
  for (const component of desired.components) {
    if (component.databases.length === 0 || rotating.has(component.component)) continue;
    if (existing.has(component.login) && !(await store.read(component.component))) lacking.push(component);
  }
  return lacking;
}

export function missingCredentialsError(
  lacking: readonly DesiredComponent[],
  store: CredentialDirectory,
): CredentialFileError {
  const names = lacking.map((c) => c.component);
  return new CredentialFileError(
    `${lacking.map((c) => `login ${c.login} exists but ${store.path(c.component)} is missing`).join('; ')}: its password is unknown, so no credentials can be written`,
    {
      path: store.dir,
      hint: `restore the file, or give the login a new password: dbwarden apply --rotate-passwords --component ${names.join(' ')}`,
    },
  );
}

/** The password each component ends up with: new where a change sets one, else the one on file. */
export async function choosePasswords(
  changes: readonly Change[],
  store: CredentialDirectory,
  rotating: ReadonlySet<string>,
  resync: ReadonlySet<string>,
): Promise<Map<string, string>> {
  const fresh = new Map<string, string>();
  for (const change of changes) {
    if (change.type !== 'create-login' && change.type !== 'set-password') continue;
    if (fresh.has(change.component)) continue;
    // A login new on one server but known on another keeps the password it has there;
    // so does one whose new password only some servers took.
    const keep = !rotating.has(change.component) || resync.has(change.component);
    const onFile = keep ? await store.read(change.component) : undefined;
    fresh.set(change.component, onFile?.password ?? generatePassword());
  }
  return fresh;
}

/** The credential file of a component: its login, password and one URL per target it uses. */
export function credentialFileFor(
  component: DesiredComponent,
  password: string,
  targets: readonly OpenTarget[],
): CredentialFile {
  const kinds = new Set(component.databases.map((db) => db.kind));
  const urls: Record<string, { url: string }> = {};
  for (const t of targets) {
    if (kinds.has(t.target.kind)) urls[t.target.name] = { url: loginUrl(t.url, component.login, password) };
  }
  return { component: component.component, username: component.login, password, targets: urls };
}

function sameFile(a: CredentialFile | undefined, b: CredentialFile): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

/** Writes every component's file when its content changed; returns the paths written. */
export async function writeCredentialFiles(
  desired: DesiredState,
  passwords: ReadonlyMap<string, string>,
  store: CredentialDirectory,
  targets: readonly OpenTarget[],
  only: ReadonlySet<string> | undefined,
): Promise<string[]> {
  const written: string[] = [];
  for (const component of desired.components) {
    if (component.databases.length === 0 || (only && !only.has(component.component))) continue;
    const current = await store.read(component.component);
    const password = passwords.get(component.component) ?? current?.password;
    if (password === undefined) continue;
    const file = credentialFileFor(component, password, targets);
    if (!sameFile(current, file)) {
      await store.write(file);
      written.push(store.path(component.component));
    }
    await store.discardPending(component.component);
  }
  return written;
}

/** Credential files of logins this run dropped: their passwords open nothing any more. */
export async function removeCredentialFiles(
  changes: readonly Change[],
  desired: DesiredState,
  store: CredentialDirectory,
): Promise<string[]> {
  const kept = new Set(desired.components.filter((c) => c.databases.length > 0).map((c) => c.component));
  const removed: string[] = [];
  for (const change of changes) {
    if (
      (change.type !== 'drop-login' && change.type !== 'forget-role') ||
      kept.has(change.component) ||
      !/^[a-z][a-z0-9_]*$/.test(change.component)
    ) {
      continue;
    }
    const file = store.path(change.component);
    try {
      await fs.rm(file);
      removed.push(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return removed;
}

/** New passwords go to pending files before the transactions that set them commit. */
export async function writePendingPasswords(
  desired: DesiredState,
  passwords: ReadonlyMap<string, string>,
  targets: readonly OpenTarget[],
  store: CredentialDirectory,
): Promise<void> {
  for (const component of desired.components) {
    const password = passwords.get(component.component);
    if (password === undefined) continue;
    const onFile = await store.read(component.component);
    if (onFile?.password === password) continue;
    await store.writePending(credentialFileFor(component, password, targets));
  }
}
