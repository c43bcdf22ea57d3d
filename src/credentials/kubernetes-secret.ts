/**
 * The Kubernetes Secret sink (`credentials.kubernetes`): one Secret per
 * component with databases, named by the config's pattern (default
 * `{app}-db-{component}`), of type `kubernetes.io/basic-auth`.
 *
 * Keys dbwarden owns in a Secret, and the only ones it ever writes:
 *
 * | data key                          | holds                                           |
 * |-----------------------------------|-------------------------------------------------|
 * | `username`                        | the component's login                            |
 * | `password`                        | its password                                     |
 * | `<target>-url`                    | its connection URL on each target it uses        |
 * | `dbwarden.pending.username`       | pending credentials (see below)                  |
 * | `dbwarden.pending.password`       |                                                  |
 * | `dbwarden.pending.<target>-url`   |                                                  |
 *
 * plus the label `app.kubernetes.io/managed-by: dbwarden` (added only when the
 * Secret has no such label: a Secret Helm manages keeps `Helm`), and the
 * annotations `dbwarden/component` and `dbwarden/targets` (the targets whose
 * `-url` keys are dbwarden's, so a target that leaves the config loses its key
 * and a foreign key that merely ends in `-url` is never touched). Every write
 * is a strategic merge patch naming only these keys (a null removes one):
 * other keys, labels and annotations stay as they are. A Secret is created
 * when absent (POST), and patched when it exists.
 *
 * Reuse: a Secret that already holds a `password` gives it to the runner
 * (read()), so rerunning never rotates by surprise, and a Secret prepared by
 * hand with a password hands that password to the login.
 *
 * Crash safety. The API server applies each create or patch to one Secret
 * atomically: a reader sees all of a patch or none of it. The pending keys
 * play the part of the directory sink's pending file:
 *
 * 1. writePending: ONE patch (or create) adds the `dbwarden.pending.*` keys,
 *    BEFORE the database transaction that sets the password commits.
 *    - Crash before it: nothing was written, nothing was committed.
 *    - Crash after it, before the commit: the next run (holding the locks)
 *      finds the keys (listPending), logs in with the pending password, is
 *      refused, and discards them (one patch removing them).
 *    - Crash after the commit: the next run's login succeeds, and it saves the
 *      password (write, then discardPending).
 *    The next run uses only the pending password, as the component's own
 *    login on the URLs the config gives: pending keys are untrusted, and
 *    #checkPending refuses any whose username or password dbwarden would
 *    never have written.
 * 2. promote: ONE patch sets `username`, `password` and the `-url` keys from
 *    the pending keys, removes the pending keys and URL keys of targets the
 *    pending credentials do not name, and updates `dbwarden/targets`. A crash
 *    leaves either the old state (pending keys still there: promoted next
 *    run) or the new one.
 * 3. After the commit the runner writes the final credentials (sync: one
 *    patch) and then discards the pending keys (another). A crash between the
 *    two leaves pending keys equal to the current credentials: the next run's
 *    login succeeds and promote rewrites the same values.
 * 4. A Secret created by writePending holds `username` (a basic-auth Secret
 *    must have a username or a password) but no `password`: read() reports no
 *    credentials until promote, so a half-done first run never passes an
 *    uncommitted password off as the current one.
 *
 * Two dbwarden runs never interleave these steps: `apply` holds its run lock
 * until the credentials are written. Other clients may change other keys at
 * any time: no patch carries keys dbwarden does not own, so none is lost.
 *
 * listPending needs no `list` permission: it gets the Secret of each component
 * of the policies by name (RBAC: `get` and `patch` on named Secrets, `create`).
 *
 * Nothing here logs or throws a password, a URL or any Secret data: messages
 * name the namespace, the Secret, the key and the problem.
 */
import { ExitCode } from '../errors.js';
import { loginName } from '../policy/names.js';
import { compareText } from '../util/compare.js';
import { assertComponentName, type CredentialFile, formatCredentialFile } from './credential-file.js';
import {
  KubernetesSecretError,
  type SecretApi,
  type SecretObject,
  type SecretPatch,
} from './kubernetes-api.js';
import { GENERATED_PASSWORD_FORM, isGeneratedPassword } from './password.js';
import { renderSecretName } from '../policy/secret-name.js';
import type { CredentialStore } from './store.js';

export const SECRET_TYPE = 'kubernetes.io/basic-auth';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'dbwarden';
export const COMPONENT_ANNOTATION = 'dbwarden/component';
export const TARGETS_ANNOTATION = 'dbwarden/targets';
export const PENDING_PREFIX = 'dbwarden.pending.';
const USERNAME = 'username';
const PASSWORD = 'password';
const PENDING_USERNAME = `${PENDING_PREFIX}${USERNAME}`;
const PENDING_PASSWORD = `${PENDING_PREFIX}${PASSWORD}`;
const URL_SUFFIX = '-url';

/** The data key of a target's URL. Target names (letters, digits, `_.-`) make valid keys. */
export const urlKey = (target: string) => `${target}${URL_SUFFIX}`;
const pendingUrlKey = (target: string) => `${PENDING_PREFIX}${urlKey(target)}`;

export interface KubernetesSecretStoreOptions {
  readonly app: string;
  readonly namespace: string;
  /** Pattern with `{app}` and `{component}`; validated with the config. */
  readonly secretName: string;
  /** Every component of the policies: listPending looks at their Secrets. */
  readonly components: readonly string[];
  readonly api: SecretApi;
  /** Told about Secrets dbwarden starts to manage; never given data. */
  readonly onWarning?: (message: string) => void;
}

/** What a repair of a damaged Secret looks like. */
const REPAIR = (component: string) =>
  `restore the Secret from a backup, or run \`dbwarden apply --rotate-passwords --component ${component}\` to issue a new password`;

export class KubernetesSecretStore implements CredentialStore {
  readonly app: string;
  readonly namespace: string;
  readonly secretName: string;
  readonly #components: readonly string[];
  readonly #api: SecretApi;
  readonly #onWarning: (message: string) => void;

  constructor(options: KubernetesSecretStoreOptions) {
    this.app = options.app;
    this.namespace = options.namespace;
    this.secretName = options.secretName;
    this.#components = [...options.components].sort(compareText);
    this.#api = options.api;
    this.#onWarning = options.onWarning ?? (() => undefined);
  }

  get location(): string {
    return `Kubernetes namespace ${this.namespace}`;
  }

  /** The component's Secret name. */
  nameOf(component: string): string {
    assertComponentName(component);
    return renderSecretName(this.secretName, this.app, component);
  }

  path(component: string): string {
    return `Secret ${this.namespace}/${this.nameOf(component)}`;
  }

  async read(component: string): Promise<CredentialFile | undefined> {
    const secret = await this.#get(component);
    return secret && this.#current(secret, component);
  }

  async write(file: CredentialFile): Promise<void> {
    const component = checkedComponent(file);
    await this.#writeCurrent(await this.#get(component), file);
  }

  async sync(file: CredentialFile): Promise<string[]> {
    const component = checkedComponent(file);
    const secret = await this.#get(component);
    if (secret !== undefined && this.#isCurrent(secret, file)) return [];
    await this.#writeCurrent(secret, file);
    return [this.path(component)];
  }

  async writePending(file: CredentialFile): Promise<void> {
    const component = checkedComponent(file);
    await this.#put(component, (secret) => {
      const data: Record<string, string | null> = {};
      // Leftovers of an older pending password would mix with this one: drop them in the same patch.
      for (const key of pendingKeys(secret)) data[key] = null;
      // A basic-auth Secret needs a username or a password: the login name is no secret.
      if (secret === undefined) data[USERNAME] = base64(file.username);
      data[PENDING_USERNAME] = base64(file.username);
      data[PENDING_PASSWORD] = base64(file.password);
      for (const [target, { url }] of Object.entries(file.targets)) data[pendingUrlKey(target)] = base64(url);
      return { data, annotations: {} };
    });
  }

  async readPending(component: string): Promise<CredentialFile | undefined> {
    const secret = await this.#get(component);
    return secret && this.#pending(secret, component);
  }

  async listPending(): Promise<string[]> {
    const found: string[] = [];
    for (const component of this.#components) {
      const secret = await this.#get(component);
      if (secret !== undefined && pendingKeys(secret).size > 0) found.push(component);
    }
    return found;
  }

  async promote(component: string): Promise<void> {
    const secret = await this.#get(component);
    const pending = secret && this.#pending(secret, component);
    const nothing = () =>
      new KubernetesSecretError(
        `${this.path(component)}: no pending credentials to promote for "${component}"`,
        {
          namespace: this.namespace,
          secret: this.nameOf(component),
        },
      );
    if (secret === undefined || pending === undefined) throw nothing();
    // One patch: the pending values become the current ones and the pending keys go.
    const data = this.#currentData(secret, pending);
    for (const key of pendingKeys(secret)) data[key] = null;
    if (
      !(await this.#patchExisting(component, secret, data, { [TARGETS_ANNOTATION]: targetList(pending) }))
    ) {
      throw nothing();
    }
  }

  async discardPending(component: string): Promise<void> {
    const secret = await this.#get(component);
    const keys = pendingKeys(secret);
    if (secret === undefined || keys.size === 0) return;
    const data = Object.fromEntries([...keys].map((key) => [key, null]));
    await this.#patchExisting(component, secret, data, {});
  }

  async remove(component: string): Promise<string[]> {
    const secret = await this.#get(component);
    // Only a Secret dbwarden wrote: a foreign one it merely read is left alone.
    if (secret?.metadata?.annotations?.[COMPONENT_ANNOTATION] === undefined) return [];
    const data: Record<string, string | null> = { [PASSWORD]: null };
    for (const target of ownedTargets(secret)) data[urlKey(target)] = null;
    for (const key of pendingKeys(secret)) data[key] = null;
    // `username` stays: a basic-auth Secret must keep a username or a password,
    // and the Secret may hold keys of others. Deleting it is left to its owner.
    const patch: SecretPatch = {
      metadata: { annotations: { [COMPONENT_ANNOTATION]: null, [TARGETS_ANNOTATION]: null } },
      data,
    };
    if (secret.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY) {
      patch.metadata = { ...patch.metadata, labels: { [MANAGED_BY_LABEL]: null } };
    }
    if (!(await this.#api.patch(this.namespace, this.nameOf(component), patch))) return [];
    return [this.path(component)];
  }

  /** Every write is one API request: nothing is ever left half-written. */
  async removeLeftovers(): Promise<string[]> {
    return [];
  }

  // ------------------------------------------------------------------ internals

  async #get(component: string): Promise<SecretObject | undefined> {
    return this.#api.get(this.namespace, this.nameOf(component));
  }

  /** The current credentials in `secret`, or undefined when it has no password. */
  #current(secret: SecretObject, component: string): CredentialFile | undefined {
    const password = this.#text(secret, PASSWORD, component);
    if (password === undefined) return undefined;
    // A Secret prepared by hand may hold only a password: the login name is known anyway.
    const username = this.#text(secret, USERNAME, component) ?? loginName(this.app, component);
    const targets: Record<string, { url: string }> = {};
    for (const target of ownedTargets(secret)) {
      const url = this.#text(secret, urlKey(target), component);
      if (url !== undefined) targets[target] = { url };
    }
    return { component, username, password, targets };
  }

  /** The pending credentials in `secret`, or undefined when it has none. */
  #pending(secret: SecretObject, component: string): CredentialFile | undefined {
    const keys = pendingKeys(secret);
    if (keys.size === 0) return undefined;
    const username = this.#text(secret, PENDING_USERNAME, component);
    const password = this.#text(secret, PENDING_PASSWORD, component);
    for (const [key, value] of [
      [PENDING_USERNAME, username],
      [PENDING_PASSWORD, password],
    ] as const) {
      if (value === undefined) {
        throw this.#damaged(component, `key "${key}" is missing while other ${PENDING_PREFIX}* keys exist`);
      }
    }
    this.#checkPending(component, username ?? '', password ?? '');
    const targets: Record<string, { url: string }> = {};
    for (const key of [...keys].sort(compareText)) {
      if (!key.endsWith(URL_SUFFIX)) continue;
      const target = key.slice(PENDING_PREFIX.length, -URL_SUFFIX.length);
      const url = this.#text(secret, key, component);
      if (target !== '' && url !== undefined) targets[target] = { url };
    }
    return { component, username: username ?? '', password: password ?? '', targets };
  }

  /**
   * Pending keys are only ever written by dbwarden, with the component's own
   * login and a generated password: anything else was planted by whoever can
   * patch the Secret, and is refused (exit 2) rather than tried on a server.
   */
  #checkPending(component: string, username: string, password: string): void {
    const problem =
      username !== loginName(this.app, component)
        ? `key "${PENDING_USERNAME}" names another login than component "${component}"'s (${loginName(this.app, component)})`
        : !isGeneratedPassword(password)
          ? `key "${PENDING_PASSWORD}" holds a password that dbwarden did not generate (its passwords are ${GENERATED_PASSWORD_FORM})`
          : undefined;
    if (problem === undefined) return;
    throw new KubernetesSecretError(`${this.path(component)}: ${problem}: refused`, {
      namespace: this.namespace,
      secret: this.nameOf(component),
      exitCode: ExitCode.invalidInput,
      hint: `dbwarden refuses pending credentials it did not write: find out who wrote them, then remove the ${PENDING_PREFIX}* keys (\`kubectl -n ${this.namespace} edit secret ${this.nameOf(component)}\`) and run apply again`,
    });
  }

  /** A data key's text; undefined when absent; an error when empty or not UTF-8. */
  #text(secret: SecretObject, key: string, component: string): string | undefined {
    const encoded = secret.data?.[key];
    if (encoded === undefined) return undefined;
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(encoded, 'base64'));
    } catch {
      throw this.#damaged(component, `key "${key}" does not hold UTF-8 text`);
    }
    if (text === '') throw this.#damaged(component, `key "${key}" is empty`);
    return text;
  }

  #damaged(component: string, problem: string): KubernetesSecretError {
    return new KubernetesSecretError(`${this.path(component)}: ${problem}`, {
      namespace: this.namespace,
      secret: this.nameOf(component),
      hint: REPAIR(component),
    });
  }

  /** Whether `secret` holds exactly `file`, with dbwarden's annotations. */
  #isCurrent(secret: SecretObject, file: CredentialFile): boolean {
    const current = this.#current(secret, file.component);
    const annotations = secret.metadata?.annotations ?? {};
    return (
      current !== undefined &&
      formatCredentialFile(current) === formatCredentialFile(file) &&
      annotations[COMPONENT_ANNOTATION] === file.component &&
      annotations[TARGETS_ANNOTATION] === targetList(file) &&
      secret.metadata?.labels?.[MANAGED_BY_LABEL] !== undefined
    );
  }

  /** Data that makes `file` the current credentials, dropping URL keys of targets it no longer names. */
  #currentData(secret: SecretObject | undefined, file: CredentialFile): Record<string, string | null> {
    const data: Record<string, string | null> = {};
    for (const target of secret === undefined ? [] : ownedTargets(secret)) {
      if (file.targets[target] === undefined) data[urlKey(target)] = null;
    }
    data[USERNAME] = base64(file.username);
    data[PASSWORD] = base64(file.password);
    for (const [target, { url }] of Object.entries(file.targets)) data[urlKey(target)] = base64(url);
    return data;
  }

  async #writeCurrent(secret: SecretObject | undefined, file: CredentialFile): Promise<void> {
    const component = file.component;
    await this.#put(
      component,
      (existing) => ({
        data: this.#currentData(existing, file),
        annotations: { [TARGETS_ANNOTATION]: targetList(file) },
      }),
      secret,
    );
  }

  /**
   * Creates the Secret or patches it, with the data and annotations `change`
   * makes from what exists. Retries once when another client created or
   * deleted it in between (409 on create, 404 on patch).
   */
  async #put(
    component: string,
    change: (secret: SecretObject | undefined) => {
      data: Record<string, string | null>;
      annotations: Record<string, string>;
    },
    known?: SecretObject,
  ): Promise<void> {
    const name = this.nameOf(component);
    let secret = known ?? (await this.#get(component));
    for (let attempt = 0; attempt < 3; attempt++) {
      const { data, annotations } = change(secret);
      if (secret === undefined) {
        const body: SecretObject = {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: {
            name,
            namespace: this.namespace,
            labels: { [MANAGED_BY_LABEL]: MANAGED_BY },
            annotations: { [COMPONENT_ANNOTATION]: component, ...annotations },
          },
          type: SECRET_TYPE,
          data: Object.fromEntries(
            Object.entries(data).filter((entry): entry is [string, string] => entry[1] !== null),
          ),
        };
        if (await this.#api.create(this.namespace, body)) return;
      } else {
        if (await this.#patchExisting(component, secret, data, annotations)) return;
      }
      secret = await this.#get(component);
    }
    throw new KubernetesSecretError(
      `${this.path(component)} kept appearing and disappearing while dbwarden wrote it`,
      {
        namespace: this.namespace,
        secret: name,
        hint: 'another client creates and deletes this Secret: stop it, then run the command again',
      },
    );
  }

  /** Patches an existing Secret; false when it vanished. Refuses a Secret of another type. */
  async #patchExisting(
    component: string,
    secret: SecretObject,
    data: Record<string, string | null>,
    annotations: Record<string, string>,
  ): Promise<boolean> {
    const type = secret.type ?? 'Opaque';
    if (type !== SECRET_TYPE) {
      throw new KubernetesSecretError(
        `${this.path(component)} has type ${type}, not ${SECRET_TYPE}; Kubernetes cannot change the type of a Secret`,
        {
          namespace: this.namespace,
          secret: this.nameOf(component),
          hint: `move whatever else it holds elsewhere and delete it (\`kubectl -n ${this.namespace} delete secret ${this.nameOf(component)}\`), or set credentials.kubernetes.secretName to another pattern`,
        },
      );
    }
    const metadata = secret.metadata ?? {};
    if (metadata.annotations?.[COMPONENT_ANNOTATION] === undefined && secret.data?.[PASSWORD] !== undefined) {
      this.#onWarning(
        `${this.path(component)} existed without dbwarden's annotations: dbwarden keeps its password and now writes its username, password and <target>-url keys (its other keys, labels and annotations stay)`,
      );
    }
    const patch: SecretPatch = {
      metadata: { annotations: { [COMPONENT_ANNOTATION]: component, ...annotations } },
      data,
    };
    // A Secret someone else manages (Helm, say) keeps their managed-by label.
    if (metadata.labels?.[MANAGED_BY_LABEL] === undefined) {
      patch.metadata = { ...patch.metadata, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } };
    }
    return this.#api.patch(this.namespace, this.nameOf(component), patch);
  }
}

function checkedComponent(file: CredentialFile): string {
  assertComponentName(file.component);
  for (const field of ['username', 'password'] as const) {
    if (typeof file[field] !== 'string' || file[field] === '') {
      throw new TypeError(`credentials for "${file.component}": field "${field}" must be a non-empty string`);
    }
  }
  return file.component;
}

/** The `dbwarden.pending.*` keys of a Secret. */
function pendingKeys(secret: SecretObject | undefined): Set<string> {
  return new Set(Object.keys(secret?.data ?? {}).filter((key) => key.startsWith(PENDING_PREFIX)));
}

/** Targets whose `-url` keys dbwarden wrote, from the annotation. */
function ownedTargets(secret: SecretObject): string[] {
  const list = secret.metadata?.annotations?.[TARGETS_ANNOTATION] ?? '';
  return list
    .split(',')
    .map((t) => t.trim())
    .filter((t) => /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(t));
}

function targetList(file: CredentialFile): string {
  return Object.keys(file.targets).sort(compareText).join(',');
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}
