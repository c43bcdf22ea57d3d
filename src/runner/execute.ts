/**
 * Running a plan: each target's statements in its locked transaction, drops
 * last, and errors that say what was committed and that a rerun is safe.
 */
import { DatabaseError, DbwardenError } from '../errors.js';
import type { LockOptions, Statement } from '../dialects/dialect.js';
import type { Change } from '../plan/types.js';
import type { EngineName } from '../policy/model.js';
import { plural } from '../util/printable.js';
import type { OpenTarget } from './targets.js';

/** One target's part of a plan: its changes and the statements they render to. */
export interface TargetPlan {
  readonly target: string;
  readonly engine: EngineName;
  /** Whether the target's statements run in one transaction (false: each commits on its own). */
  readonly transactional: boolean;
  readonly database: string;
  readonly version: string;
  readonly changes: readonly { readonly change: Change; readonly statements: readonly Statement[] }[];
}

/** Dropping a role needs every grant it holds, on every target of its server, revoked first. */
function isDrop(change: Change): boolean {
  return change.type === 'drop-login' || change.type === 'drop-role' || change.type === 'forget-role';
}

/**
 * Each target's statements, then its commit, in name order; a failure rolls
 * back that target and every later one. Drops run last, in a second
 * transaction on their target, once every target has revoked what the
 * dropped roles held.
 */
export async function executePlans(
  targets: readonly OpenTarget[],
  plans: readonly TargetPlan[],
  lock: LockOptions,
  logs: { readonly log: (m: string) => void; readonly detail?: ((m: string) => void) | undefined },
): Promise<void> {
  const { log, detail } = logs;
  const committed: string[] = [];
  const statementsOf = (i: number, drops: boolean) =>
    plans[i]?.changes.filter((c) => isDrop(c.change) === drops).flatMap((c) => c.statements) ?? [];
  for (const [i, t] of targets.entries()) {
    const statements = statementsOf(i, false);
    await runCommitted(t, statements, committed, detail);
    log(
      `target ${t.target.name}: ${statements.length === 0 ? 'no changes' : `${plural(statements.length, 'statement')} committed`}`,
    );
  }
  for (const [i, t] of targets.entries()) {
    const drops = statementsOf(i, true);
    if (drops.length === 0) continue;
    await t.session.beginLocked(lock);
    await runCommitted(t, drops, committed, detail);
    log(`target ${t.target.name}: ${plural(drops.length, 'role')} dropped`);
  }
}

async function runCommitted(
  t: OpenTarget,
  statements: readonly Statement[],
  committed: string[],
  detail: ((m: string) => void) | undefined,
): Promise<void> {
  try {
    for (const statement of statements) {
      // display, never sql: verifiers and hashes are redacted in it.
      detail?.(`target ${t.target.name}: ${statement.intent}: ${statement.display}`);
      await t.session.run(statement);
    }
    await t.session.commit();
  } catch (err) {
    throw applyFailed(err, t, committed);
  }
  if (!committed.includes(t.target.name)) committed.push(t.target.name);
}

function applyFailed(err: unknown, t: OpenTarget, committed: readonly string[]): DbwardenError {
  const target = t.target.name;
  const done = committed.length ? `targets ${committed.join(', ')} were committed; ` : '';
  const failed = t.dialect.transactionalDdl
    ? `target ${target} and the ones after it were rolled back`
    : `on target ${target} the statements before the failed one stay in effect (each commits on its own), and the targets after it were not touched`;
  const rerun = `${done}${failed}. Fix the cause and run apply again: it continues from where this run stopped`;
  const hint = err instanceof DbwardenError && err.hint ? `${err.hint}\n  ${rerun}` : rerun;
  if (err instanceof DatabaseError) return err.withHint(hint);
  if (err instanceof DbwardenError) return err;
  return new DatabaseError(`target ${target}: ${err instanceof Error ? err.message : 'unknown error'}`, {
    hint,
    target,
    action: 'apply',
  });
}
