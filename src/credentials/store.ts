/**
 * Where components' credentials live, as the runner sees it.
 *
 * `apply` drives passwords through a CredentialStore (src/runner/credentials.ts):
 * it reads the password a component has, writes a new one as *pending* before
 * the transaction that sets it commits, and afterwards promotes or discards
 * pending passwords. Two sinks implement it:
 *
 * - CredentialDirectory (credential-file.ts): `<dir>/<component>.json` files;
 * - KubernetesSecretStore (kubernetes-secret.ts): one Secret per component.
 *
 * With both configured, MirroredCredentialStore writes to both and reads from
 * the Secret first (see below). No method ever puts a password in a message.
 */
import { compareText } from '../util/compare.js';

/** The credential file contract: `<dir>/<component>.json`. */
export interface CredentialFile {
  component: string;
  username: string;
  password: string;
  /** By target name; written sorted by name. */
  targets: Record<string, { url: string }>;
}

export interface CredentialStore {
  /** Where the store keeps everything, for messages: a directory, or `Kubernetes namespace nova`. */
  readonly location: string;

  /** Where one component's credentials live, for messages: a file path, or `Secret nova/nova-db-api`. */
  path(component: string): string;

  /** The component's credentials, or undefined when the store has none (no file; no Secret, or one without a password). */
  read(component: string): Promise<CredentialFile | undefined>;

  /** Replaces the component's credentials with `file`, unconditionally. */
  write(file: CredentialFile): Promise<void>;

  /**
   * Makes the store hold `file` as the component's credentials, writing only
   * where what it holds differs. Returns the places written (empty: nothing changed).
   */
  sync(file: CredentialFile): Promise<string[]>;

  /** Keeps credentials that are about to be committed on the server, next to (not over) the current ones. */
  writePending(file: CredentialFile): Promise<void>;

  /** The component's pending credentials, or undefined when there are none. */
  readPending(component: string): Promise<CredentialFile | undefined>;

  /** Components that have pending credentials, sorted. */
  listPending(): Promise<string[]>;

  /** Makes the pending credentials the component's credentials, in one atomic step per place. */
  promote(component: string): Promise<void>;

  /** Forgets the component's pending credentials; nothing to do (and nothing written) when there are none. */
  discardPending(component: string): Promise<void>;

  /**
   * Removes what killed runs left behind (temporary files that may hold a
   * password). Call only while holding the run lock. Returns the places removed.
   */
  removeLeftovers(): Promise<string[]>;

  /**
   * Forgets the credentials of a component whose login is gone. Returns the
   * places changed (empty when there was nothing to remove).
   */
  remove(component: string): Promise<string[]>;
}

/**
 * `credentials.dir` and `credentials.kubernetes` together: every write goes to
 * both, the primary (the Secret) first; reads prefer the primary and fall back
 * to the mirror (the directory) when the primary has nothing, so an operator
 * moving from files to Secrets keeps every password.
 *
 * Crash safety holds because each half is crash-safe and the composite only
 * chains their steps:
 * - writePending: primary, then mirror, both before the transaction commits. A
 *   crash between them leaves a pending password in one place only; the next
 *   run finds it (listPending is the union), learns it never committed, and
 *   discards it everywhere.
 * - settling a committed pending password (the runner writes the credentials
 *   the config gives, then discards the pending ones): a crash in between
 *   leaves the pending password in both places or one, and the next run
 *   settles it again, with the same result.
 * - promote (kept for callers that trust the pending URLs): a place holding
 *   the pending password promotes it; a place that no longer does (a crash
 *   after the primary's promote) is written the promoted credentials instead,
 *   so both end equal.
 * - sync, then discardPending (the runner's order): a crash between the two
 *   halves of sync leaves the pending password in both places, and the next
 *   run promotes it in both.
 */
export class MirroredCredentialStore implements CredentialStore {
  readonly primary: CredentialStore;
  readonly mirror: CredentialStore;

  constructor(primary: CredentialStore, mirror: CredentialStore) {
    this.primary = primary;
    this.mirror = mirror;
  }

  get location(): string {
    return `${this.primary.location} and ${this.mirror.location}`;
  }

  path(component: string): string {
    return `${this.primary.path(component)} and ${this.mirror.path(component)}`;
  }

  async read(component: string): Promise<CredentialFile | undefined> {
    return (await this.primary.read(component)) ?? (await this.mirror.read(component));
  }

  async write(file: CredentialFile): Promise<void> {
    await this.primary.write(file);
    await this.mirror.write(file);
  }

  async sync(file: CredentialFile): Promise<string[]> {
    return [...(await this.primary.sync(file)), ...(await this.mirror.sync(file))];
  }

  async writePending(file: CredentialFile): Promise<void> {
    await this.primary.writePending(file);
    await this.mirror.writePending(file);
  }

  async readPending(component: string): Promise<CredentialFile | undefined> {
    return (await this.primary.readPending(component)) ?? (await this.mirror.readPending(component));
  }

  async listPending(): Promise<string[]> {
    const all = new Set([...(await this.primary.listPending()), ...(await this.mirror.listPending())]);
    return [...all].sort(compareText);
  }

  async promote(component: string): Promise<void> {
    const pending = await this.readPending(component);
    // Nothing pending anywhere: let the primary report it the way it reports it alone.
    if (pending === undefined) return this.primary.promote(component);
    for (const store of [this.primary, this.mirror]) {
      if ((await store.readPending(component)) !== undefined) await store.promote(component);
      else await store.write(pending);
    }
  }

  async discardPending(component: string): Promise<void> {
    await this.primary.discardPending(component);
    await this.mirror.discardPending(component);
  }

  async remove(component: string): Promise<string[]> {
    return [...(await this.primary.remove(component)), ...(await this.mirror.remove(component))];
  }

  async removeLeftovers(): Promise<string[]> {
    return [...(await this.primary.removeLeftovers()), ...(await this.mirror.removeLeftovers())];
  }
}
