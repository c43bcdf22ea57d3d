/**
 * `plan` and `apply`: introspect, plan, and (for apply) run each target's
 * statements in one transaction under dbwarden's lock, then write credentials.
 */
import type { CredentialStore } from '../credentials/store.js';
import { DatabaseError, InvalidInputError } from '../errors.js';
import { changeIntent, type PasswordSource, type RenderContext } from '../dialects/dialect.js';
import { desiredState } from '../plan/desired.js';
import { plan } from '../plan/plan.js';
import type { Catalog, Change, DesiredState } from '../plan/types.js';
import type { Deployment } from '../policy/model.js';
import {
  choosePasswords,
  credentialStore,
  loginsWithoutCredentials,
  missingCredentialsError,
  removeCredentialFiles,
  settlePendingPasswords,
  writeCredentialFiles,
  writePendingPasswords,
} from './credentials.js';
import { executePlans, type TargetPlan } from './execute.js';
import { plural } from '../util/printable.js';
import { readCatalog, refuseMissingObjects } from './snapshot.js';
import { closeTargets, type OpenTarget, openTargets } from './targets.js';
import { catalogFingerprints, PlanStaleError, sameChanges } from './planfile.js';
import { compareText } from '../util/compare.js';

export interface RunOptions {
  /** Only changes for these components (undefined: all). */
  readonly components?: readonly string[] | undefined;
  /** Progress and warnings, for stderr. */
  readonly log: (message: string) => void;
  /** --verbose: extra detail for stderr, e.g. each statement as it runs (never a password). */
  readonly detail?: ((message: string) => void) | undefined;
}

export interface ApplyOptions extends RunOptions {
  readonly rotatePasswords: boolean;
  readonly lockWaitSeconds: number;
  /**
   * apply FILE: the reviewed plan's changes and catalog fingerprints. apply
   * runs only if every target's catalog, read under the lock, still has its
   * fingerprint, and then runs exactly these changes (which must equal what
   * it plans now: the file cannot bring changes of its own).
   */
  readonly reviewed?: ReviewedPlan | undefined;
}

export interface ReviewedPlan {
  /** The planfile, for messages. */
  readonly file: string;
  readonly fingerprints: Readonly<Record<string, string>>;
  readonly changes: readonly Change[];
}

// Rendered and run by execute.ts; callers of plan/apply know it from here.
export type { TargetPlan } from './execute.js';

export interface PlanResult {
  readonly app: string;
  /** --component: the plan covers only these; undefined: every component and PUBLIC. */
  readonly components: readonly string[] | undefined;
  readonly targets: readonly TargetPlan[];
  /** Per target, the fingerprint of its catalog as read (planfile.ts catalogFingerprints). */
  readonly fingerprints: Readonly<Record<string, string>>;
  /** Components whose existing login has no credential file (apply would refuse them). */
  readonly lackingCredentials: readonly string[];
}

export interface ApplyResult extends PlanResult {
  readonly credentialsWritten: readonly string[];
  readonly credentialsRemoved: readonly string[];
}

/** Never used to run anything: plans show the placeholder instead of a verifier. */
const NO_PASSWORDS: PasswordSource = { storedForm: () => undefined };

export async function runPlan(
  deployment: Deployment,
  options: RunOptions & { rotatePasswords: boolean },
): Promise<PlanResult> {
  const desired = desiredState(deployment);
  const only = componentFilter(desired, options.components);
  const store = credentialStore(deployment, options.log);
  const targets = await openTargets(deployment.config.targets);
  try {
    const { changes, lacking, catalog } = await planTargets(desired, targets, store, {
      only,
      rotatePasswords: options.rotatePasswords,
    });
    return {
      app: desired.app,
      components: options.components,
      targets: targetPlans(desired, targets, changes, () => NO_PASSWORDS),
      fingerprints: catalogFingerprints(catalog),
      lackingCredentials: lacking.map((c) => c.component),
    };
  } finally {
    await closeTargets(targets);
  }
}

export async function runApply(deployment: Deployment, options: ApplyOptions): Promise<ApplyResult> {
  const desired = desiredState(deployment);
  const asked = componentFilter(desired, options.components);
  const store = credentialStore(deployment, options.log);
  const targets = await openTargets(deployment.config.targets);
  try {
    const lock = { waitSeconds: options.lockWaitSeconds, notify: options.log };
    // The run lock keeps a second run out until this one has written its credential files;
    // then every target's lock, in name order (the same for every run, so no deadlock).
    await targets[0]?.session.lockRun(lock);
    for (const t of targets) await t.session.beginLocked(lock);
    const resync = await settlePendingPasswords({ store, desired, targets, log: options.log });
    // A password that only some servers took is set everywhere, whatever --component says.
    const only = asked && new Set([...asked, ...resync]);
    const planned = await planTargets(desired, targets, store, {
      only,
      rotatePasswords: options.rotatePasswords,
      resync,
    });
    const { rotating, lacking, catalog } = planned;
    if (options.reviewed) checkReviewed(options.reviewed, catalog, planned.changes, resync);
    // apply FILE runs the file's changes: checkReviewed found them equal to the fresh plan's.
    const changes = options.reviewed?.changes ?? planned.changes;
    if (lacking.length > 0) throw missingCredentialsError(lacking, store);
    const passwords = await choosePasswords(changes, store, rotating, resync);
    await writePendingPasswords(desired, passwords, targets, store);
    const plans = targetPlans(desired, targets, changes, storedForms(passwords, desired));
    await executePlans(targets, plans, lock, options);
    const credentialsWritten = await writeCredentialFiles(desired, passwords, store, { targets, only });
    const credentialsRemoved = await removeCredentialFiles(changes, desired, store);
    if (changes.length > 0) await checkConverged(desired, targets, store, only);
    return {
      app: desired.app,
      components: options.components,
      targets: plans,
      fingerprints: catalogFingerprints(catalog),
      lackingCredentials: [],
      credentialsWritten,
      credentialsRemoved,
    };
  } catch (err) {
    await Promise.all(targets.map((t) => t.session.rollback()));
    throw err;
  } finally {
    await closeTargets(targets);
  }
}

/** Which components a plan covers, and whose passwords it changes. */
interface PlanSelection {
  /** --component (and the resynced ones): undefined for all. */
  readonly only: ReadonlySet<string> | undefined;
  readonly rotatePasswords: boolean;
  /** Components whose pending password some servers did not take yet: set everywhere. */
  readonly resync?: ReadonlySet<string>;
}

/** Reads every target, refuses missing objects (exit 2), and plans; `only` narrows the result. */
async function planTargets(
  desired: DesiredState,
  targets: readonly OpenTarget[],
  store: CredentialStore,
  selection: PlanSelection,
) {
  const { only, rotatePasswords, resync = new Set<string>() } = selection;
  const catalog = await readCatalog(desired, targets);
  refuseMissingObjects(desired, catalog);
  const rotating = new Set([...rotatingComponents(desired, rotatePasswords, only), ...resync]);
  const changes = selectChanges(plan(desired, catalog, { rotatePasswords: [...rotating] }), only);
  const lacking = (await loginsWithoutCredentials(desired, catalog, store, rotating)).filter(
    (c) => !only || only.has(c.component),
  );
  return { changes, rotating, lacking, catalog };
}

/**
 * apply FILE, under the lock, before anything is written: exit 3 naming every
 * target whose catalog is not the one the plan was made from (or when an
 * interrupted run left passwords to set, which the plan did not include);
 * exit 2 when the file's changes are not what dbwarden plans for these
 * policies and these catalogs (an edited file, or another version's planner).
 */
function checkReviewed(
  reviewed: ReviewedPlan,
  catalog: Catalog,
  changes: readonly Change[],
  resync: ReadonlySet<string>,
): void {
  const now = catalogFingerprints(catalog);
  const names = [...new Set([...Object.keys(now), ...Object.keys(reviewed.fingerprints)])].sort(compareText);
  const changed = names.filter((name) => now[name] !== reviewed.fingerprints[name]);
  if (changed.length > 0) {
    throw new PlanStaleError(
      `the reviewed plan ${reviewed.file} is out of date; nothing was changed:\n${changed
        .map((name) => `  target ${name} changed since the plan was made; run plan again`)
        .join('\n')}`,
      { hint: 'make and review a new plan: dbwarden plan --out FILE, then dbwarden apply FILE' },
    );
  }
  if (resync.size > 0) {
    throw new PlanStaleError(
      `an interrupted apply left new passwords of ${[...resync].join(', ')} set on only some servers, which the reviewed plan ${reviewed.file} does not include; nothing was changed`,
      { hint: 'finish the interrupted run with: dbwarden apply (without a planfile), then plan again' },
    );
  }
  if (!sameChanges(changes, reviewed.changes)) {
    throw new InvalidInputError(
      `planfile ${reviewed.file}: its changes are not the ones dbwarden plans for these policies and these catalogs (the catalogs match the plan's fingerprints), so it was edited or made by another dbwarden version; nothing was changed`,
      { hint: 'make a new plan with this dbwarden: dbwarden plan --out FILE' },
    );
  }
}

/**
 * Reads every target again after apply: anything still planned is a change the
 * server accepted without carrying out (a revoke of a grant another role
 * made, say). Say so, rather than report success and plan it again forever.
 */
async function checkConverged(
  desired: DesiredState,
  targets: readonly OpenTarget[],
  store: CredentialStore,
  only: ReadonlySet<string> | undefined,
): Promise<void> {
  const { changes } = await planTargets(desired, targets, store, { only, rotatePasswords: false });
  if (changes.length === 0) return;
  const intents = targetPlans(desired, targets, changes, () => NO_PASSWORDS).flatMap((t) =>
    t.changes.map((c) => `  target ${t.target}: ${changeIntent(c.statements) ?? c.change.type}`),
  );
  throw new DatabaseError(
    `apply committed its statements, but ${plural(changes.length, 'change')} did not take effect:\n${intents.join('\n')}`,
    {
      hint: 'a privilege granted by a role other than the object owner can only be revoked by that role; revoke it as that role, then run apply again (docs/postgres.md)',
    },
  );
}

function componentFilter(
  desired: DesiredState,
  components: readonly string[] | undefined,
): Set<string> | undefined {
  if (!components) return undefined;
  const known = new Set(desired.components.map((c) => c.component));
  const unknown = components.filter((c) => !known.has(c));
  if (unknown.length > 0) {
    throw new InvalidInputError(`--component names no component of the policies: ${unknown.join(', ')}`, {
      hint: `components: ${[...known].join(', ')}`,
    });
  }
  return new Set(components);
}

function rotatingComponents(
  desired: DesiredState,
  rotate: boolean,
  only: ReadonlySet<string> | undefined,
): Set<string> {
  if (!rotate) return new Set();
  return new Set(
    desired.components
      .filter((c) => c.databases.length > 0 && (!only || only.has(c.component)))
      .map((c) => c.component),
  );
}

/** With --component, only its changes; revokes from PUBLIC belong to no component and need a full run. */
function selectChanges(changes: Change[], only: ReadonlySet<string> | undefined): Change[] {
  return only ? changes.filter((c) => only.has(c.component)) : changes;
}

function targetPlans(
  desired: DesiredState,
  targets: readonly OpenTarget[],
  changes: readonly Change[],
  passwordsFor: (target: OpenTarget) => PasswordSource,
): TargetPlan[] {
  return targets.map((t) => {
    const context: RenderContext = {
      app: desired.app,
      database: t.identity.database,
      serverVersion: t.identity.versionNumber,
      serverFlavor: t.identity.flavor,
      accounts: desired.accounts,
      passwords: passwordsFor(t),
    };
    return {
      target: t.target.name,
      engine: t.dialect.engine,
      transactional: t.dialect.transactionalDdl,
      database: t.identity.database,
      version: t.identity.version,
      changes: changes
        .filter((c) => c.target === t.target.name)
        .map((change) => ({ change, statements: t.dialect.render(change, context) })),
    };
  });
}

/**
 * Stored forms (verifiers, hashes) are made once per server product and login,
 * from the password chosen for its component.
 */
function storedForms(
  passwords: ReadonlyMap<string, string>,
  desired: DesiredState,
): (target: OpenTarget) => PasswordSource {
  const componentOf = new Map(desired.components.map((c) => [c.login, c.component]));
  const made = new Map<string, string>();
  return ({ dialect, identity }) => ({
    storedForm(login) {
      const password = passwords.get(componentOf.get(login) ?? '');
      if (password === undefined) return undefined;
      const key = `${identity.flavor}\u0000${login}`;
      const stored = made.get(key) ?? dialect.passwordStoredForm(password, identity);
      made.set(key, stored);
      return stored;
    },
  });
}

/** Each target's statements, then its commit; a failure rolls back that target and every later one. */
