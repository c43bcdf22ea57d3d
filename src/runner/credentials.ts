/**
 * Passwords across a run: which logins need a new one, which keep theirs,
 * and the credentials that tell each component how to connect, kept in a
 * CredentialStore (files in `credentials.dir`, Secrets for
 * `credentials.kubernetes`, or both).
 *
 * Crash safety: a new password is written as pending (a pending file, or
 * pending keys in the Secret) before the transaction that sets it commits.
 * The next run (holding the locks) logs in with a pending password to learn
 * whether it was committed, and saves or discards it, so no password is
 * ever lost and no stored credentials ever lie for long.
 *
 * What the store holds is untrusted input (someone else may have written it):
 * the sinks refuse what dbwarden did not write, and connection details always
 * come from the config, never from a file or Secret.
 */
import {
  type CredentialFile,
  CredentialDirectory,
  CredentialFileError,
} from '../credentials/credential-file.js';
import { kubernetesNamespace, kubernetesSecretApi } from '../credentials/kubernetes-api.js';
import { KubernetesSecretStore } from '../credentials/kubernetes-secret.js';
import { loginUrl } from '../credentials/login-url.js';
import { generatePassword } from '../credentials/password.js';
import { type CredentialStore, MirroredCredentialStore } from '../credentials/store.js';
import type { Catalog, Change, DesiredComponent, DesiredState } from '../plan/types.js';
import type { Deployment } from '../policy/model.js';
import { NAME_PATTERN } from '../policy/names.js';
import { plural } from '../util/printable.js';
import type { OpenTarget } from './targets.js';

/**
 * The store the config names: `credentials.dir`, `credentials.kubernetes`, or
 * both (then the Secret is read first and both are written; see
 * MirroredCredentialStore). Nothing is contacted until the first read or write;
 * a missing namespace outside a pod is an error here (exit 2).
 */
export function credentialStore(deployment: Deployment, warn: (message: string) => void): CredentialStore {
  const { dir, kubernetes } = deployment.config.credentials;
  const directory =
    dir === undefined
      ? undefined
      : new CredentialDirectory(dir, { onWarning: warn, app: deployment.config.app });
  if (kubernetes === undefined) {
    if (directory === undefined) throw new TypeError('config has no credentials sink');
    return directory;
  }
  const secrets = new KubernetesSecretStore({
    app: deployment.config.app,
    namespace: kubernetesNamespace(kubernetes.namespace),
    secretName: kubernetes.secretName,
    components: deployment.policies.map((p) => p.component),
    api: kubernetesSecretApi(),
    onWarning: warn,
  });
  return directory === undefined ? secrets : new MirroredCredentialStore(secrets, directory);
}

export interface SettleOptions {
  readonly store: CredentialStore;
  readonly desired: DesiredState;
  readonly targets: readonly OpenTarget[];
  readonly log: (message: string) => void;
}

/**
 * Settles pending passwords left by an interrupted run, by logging in with
 * them on every target of their component. Call only while holding every
 * target's lock. Returns the components whose new password some servers took
 * and others did not (a run that died between servers): apply sets it on
 * every server.
 *
 * A pending file or Secret is untrusted input: the sinks refuse one dbwarden
 * did not write, and nothing in it but the password is used. The login and
 * the URL come from the config (the component's login on each target's admin
 * URL), so a planted pending password can only be tested against the
 * component's own login, where it fails unless a run really committed it.
 */
export async function settlePendingPasswords(options: SettleOptions): Promise<Set<string>> {
  const { store, desired, targets, log } = options;
  // Read (and so check) every pending password before acting on any: a refusal changes nothing.
  const pending = await readAllPending(store, desired);
  const leftovers = await store.removeLeftovers();
  if (leftovers.length > 0) {
    log(
      `credentials: removed ${plural(leftovers.length, 'temporary file')} left by an interrupted run: ${leftovers.join(', ')}`,
    );
  }
  const resync = new Set<string>();
  for (const { name, component, password } of pending) {
    if (component === undefined) {
      await store.discardPending(name);
      log(
        `credentials: discarded the pending password of ${name} (the component has no databases in the policies)`,
      );
      continue;
    }
    const { accepted, refused } = await tryPassword(component, password, targets);
    if (accepted.length === 0) {
      await store.discardPending(name);
      log(`credentials: an interrupted run had not committed a new password for ${name}; discarded it`);
      continue;
    }
    // Written afresh from the config rather than promoted: the file's URLs are not trusted.
    await store.write(credentialFileFor(component, password, targets));
    await store.discardPending(name);
    log(
      `credentials: an interrupted run had set a new password for ${name}; saved it to ${store.path(name)}`,
    );
    if (refused.length > 0) {
      resync.add(name);
      log(
        `credentials: targets ${refused.join(', ')} still have the old password of ${name}; setting the new one everywhere`,
      );
    }
  }
  return resync;
}

interface Pending {
  readonly name: string;
  /** Undefined when the policies give the component no databases (its login goes). */
  readonly component: DesiredComponent | undefined;
  readonly password: string;
}

async function readAllPending(store: CredentialStore, desired: DesiredState): Promise<Pending[]> {
  const found: Pending[] = [];
  for (const name of await store.listPending()) {
    const file = await store.readPending(name);
    if (file === undefined) continue;
    const component = desired.components.find((c) => c.component === name && c.databases.length > 0);
    found.push({ name, component, password: file.password });
  }
  return found;
}

/** Logs in as the component's login, on each target it uses, with the URL the config gives. */
async function tryPassword(
  component: DesiredComponent,
  password: string,
  targets: readonly OpenTarget[],
): Promise<{ accepted: string[]; refused: string[] }> {
  const accepted: string[] = [];
  const refused: string[] = [];
  for (const t of targetsOf(component, targets)) {
    const url = loginUrl(t.url, component.login, password);
    ((await t.dialect.canLogIn(url, t.target.name)) ? accepted : refused).push(t.target.name);
  }
  return { accepted, refused };
}

/** The targets whose kind one of the component's databases names. */
function targetsOf(component: DesiredComponent, targets: readonly OpenTarget[]): OpenTarget[] {
  const kinds = new Set(component.databases.map((db) => db.kind));
  return targets.filter((t) => kinds.has(t.target.kind));
}

/** Logins that exist but whose password nobody here knows: apply cannot write their credentials. */
export async function loginsWithoutCredentials(
  desired: DesiredState,
  catalog: Catalog,
  store: CredentialStore,
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
  store: CredentialStore,
): CredentialFileError {
  const names = lacking.map((c) => c.component);
  const files = store instanceof CredentialDirectory;
  return new CredentialFileError(
    `${lacking.map((c) => `login ${c.login} exists but ${store.path(c.component)} ${files ? 'is missing' : 'holds no password'}`).join('; ')}: its password is unknown, so no credentials can be written`,
    {
      path: store.location,
      hint: `restore ${files ? 'the file' : 'its password'}, or give the login a new password: dbwarden apply --rotate-passwords --component ${names.join(' ')}`,
    },
  );
}

/** The password each component ends up with: new where a change sets one, else the one on file. */
export async function choosePasswords(
  changes: readonly Change[],
  store: CredentialStore,
  rotating: ReadonlySet<string>,
  resync: ReadonlySet<string>,
): Promise<Map<string, string>> {
  const fresh = new Map<string, string>();
  for (const change of changes) {
    if (change.type !== 'create-login' && change.type !== 'set-password') continue;
    if (fresh.has(change.component)) continue;
    // A login new on one server but known on another keeps the password it has there;
    // so does one whose new password only some servers took. The store refuses a file
    // or pending password dbwarden did not write, so a planted one never gets here.
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
  const urls: Record<string, { url: string }> = {};
  for (const t of targetsOf(component, targets)) {
    urls[t.target.name] = { url: loginUrl(t.url, component.login, password) };
  }
  return { component: component.component, username: component.login, password, targets: urls };
}

/**
 * Writes every component's credentials where they changed; returns the places written.
 * `scope.only` (--component) narrows the components: undefined for all.
 */
export async function writeCredentialFiles(
  desired: DesiredState,
  passwords: ReadonlyMap<string, string>,
  store: CredentialStore,
  scope: { readonly targets: readonly OpenTarget[]; readonly only: ReadonlySet<string> | undefined },
): Promise<string[]> {
  const { targets, only } = scope;
  const written: string[] = [];
  for (const component of desired.components) {
    if (component.databases.length === 0 || (only && !only.has(component.component))) continue;
    const current = await store.read(component.component);
    const password = passwords.get(component.component) ?? current?.password;
    if (password === undefined) continue;
    written.push(...(await store.sync(credentialFileFor(component, password, targets))));
    await store.discardPending(component.component);
  }
  return written;
}

/** Credentials of logins this run dropped: their passwords open nothing any more. */
export async function removeCredentialFiles(
  changes: readonly Change[],
  desired: DesiredState,
  store: CredentialStore,
): Promise<string[]> {
  const kept = new Set(desired.components.filter((c) => c.databases.length > 0).map((c) => c.component));
  const removed: string[] = [];
  for (const change of changes) {
    if (
      (change.type !== 'drop-login' && change.type !== 'forget-role') ||
      kept.has(change.component) ||
      !NAME_PATTERN.test(change.component)
    ) {
      continue;
    }
    removed.push(...(await store.remove(change.component)));
  }
  return removed;
}

/** New passwords are written as pending before the transactions that set them commit. */
export async function writePendingPasswords(
  desired: DesiredState,
  passwords: ReadonlyMap<string, string>,
  targets: readonly OpenTarget[],
  store: CredentialStore,
): Promise<void> {
  for (const component of desired.components) {
    const password = passwords.get(component.component);
    if (password === undefined) continue;
    const onFile = await store.read(component.component);
    if (onFile?.password === password) continue;
    await store.writePending(credentialFileFor(component, password, targets));
  }
}
