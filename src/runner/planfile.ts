/**
 * The reviewed plan (`plan --out FILE`, `apply FILE`): a versioned JSON file
 * holding the changes plan made, a fingerprint of every target's catalog as
 * plan read it, and a digest of the policies and config it was made from.
 * No secrets: a change that sets a password says so; apply makes the password.
 *
 * Everything here but readPlanfile/writePlanfile is pure. A planfile is
 * untrusted input (anyone who can write it can edit it): it is parsed with a
 * strict schema, its digest is checked, and every name in it must pass the
 * same identifier rules as policy names, before any of it is rendered. apply
 * then re-plans under the run lock and runs the file's changes only when they
 * equal what it plans now (see checkReviewedPlan in apply.ts).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { z } from 'zod';
import { DbwardenError, ExitCode, InvalidInputError } from '../errors.js';
import { IDENTIFIER_RULES } from '../dialects/engines.js';
import type { AccountAttribute, Catalog, Change, DesiredState } from '../plan/types.js';
import type { EngineName } from '../policy/model.js';
import { invisibleCharacterProblem } from '../policy/names.js';
import { compareText } from '../util/compare.js';

export const PLANFILE_FORMAT = 'dbwarden-plan';
export const PLANFILE_VERSION = 1;

/** The running dbwarden's version (package.json), recorded in every planfile. */
export const DBWARDEN_VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string })
  .version;

export interface PlanfileTarget {
  readonly name: string;
  readonly engine: EngineName;
  readonly database: string;
  /** The server version plan saw, for the reader. */
  readonly serverVersion: string;
  /** `sha256:<hex>` of the target's catalog as plan read it (catalogFingerprints). */
  readonly fingerprint: string;
}

export interface PlanfileChange {
  /** What the change does, in words, for the reviewer (never a secret); not used by apply. */
  readonly intent: string;
  readonly change: Change;
}

export interface Planfile {
  readonly format: typeof PLANFILE_FORMAT;
  readonly version: typeof PLANFILE_VERSION;
  /** The dbwarden version that made it. */
  readonly dbwarden: string;
  /** When plan read the catalogs (ISO 8601, UTC). */
  readonly createdAt: string;
  readonly app: string;
  /** `sha256:<hex>` of the desired state (policies and the config the planner uses): deploymentDigest. */
  readonly configDigest: string;
  /** How plan was run: apply FILE plans the same way. */
  readonly options: { readonly components: readonly string[] | null; readonly rotatePasswords: boolean };
  /** Every configured target, in name order. */
  readonly targets: readonly PlanfileTarget[];
  /** In the order apply runs them. */
  readonly changes: readonly PlanfileChange[];
  /** `sha256:<hex>` of this document without `digest` (canonicalJson): any edit of it shows. */
  readonly digest: string;
}

/** apply FILE: a target's catalog is not the one the plan was made from (exit 3, nothing changed). */
export class PlanStaleError extends DbwardenError {
  override readonly name = 'PlanStaleError';
  readonly exitCode = ExitCode.pendingOrMismatch;
}

// ---------------------------------------------------------------- canonical form and digests

/**
 * JSON with object keys sorted and, for `sets`, every array sorted by its
 * members' own canonical form: the same data gives the same text whatever
 * order a server listed it in. Arrays of changes keep their order (sets false).
 */
export function canonicalJson(value: unknown, sets: boolean): string {
  if (Array.isArray(value)) {
    const items = value.map((v: unknown) => canonicalJson(v === undefined ? null : v, sets));
    if (sets) items.sort(compareText);
    return `[${items.join(',')}]`;
  }
  // A Map's content is not in Object.entries: hash it as its sorted entries, never as {}.
  if (value instanceof Map) return canonicalJson([...(value as Map<unknown, unknown>).entries()], true);
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => compareText(a, b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v, sets)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}`;
}

/**
 * Per target: SHA-256 of the catalog the planner read for it: its server's
 * roles (with their marker, login flag and powers), memberships and stale
 * marks, and its own grants, column grants and the tables and columns the
 * policies name, with the server's cluster id and default schema.
 */
export function catalogFingerprints(catalog: Catalog): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, target] of Object.entries(catalog.targets)) {
    const cluster = catalog.clusters[target.cluster] ?? null;
    result[name] = sha256(canonicalJson({ cluster, target }, true));
  }
  return result;
}

/** SHA-256 of what the planner is given from the policies and the config (no URL, no key, no password). */
export function deploymentDigest(desired: DesiredState): string {
  return sha256(canonicalJson(desired, false));
}

type Unsigned = Omit<Planfile, 'digest' | 'format' | 'version'>;

export function makePlanfile(content: Unsigned): Planfile {
  const unsigned = { format: PLANFILE_FORMAT, version: PLANFILE_VERSION, ...content } as const;
  return { ...unsigned, digest: documentDigest(unsigned) };
}

function documentDigest(document: object): string {
  const rest: Record<string, unknown> = { ...(document as Record<string, unknown>) };
  delete rest.digest;
  return sha256(canonicalJson(rest, false));
}

export function serializePlanfile(planfile: Planfile): string {
  return `${JSON.stringify(planfile, null, 2)}\n`;
}

/**
 * Whether two change lists are the same changes in the same order on each
 * target (apply runs each target's changes in order, target by target; the
 * planfile lists them target by target, the planner phase by phase).
 */
export function sameChanges(a: readonly Change[], b: readonly Change[]): boolean {
  return changesByTarget(a) === changesByTarget(b);
}

function changesByTarget(changes: readonly Change[]): string {
  const groups = new Map<string, Change[]>();
  for (const change of changes) {
    const group = groups.get(change.target) ?? [];
    group.push(change);
    groups.set(change.target, group);
  }
  const sorted = [...groups.entries()].sort(([x], [y]) => compareText(x, y));
  return canonicalJson(sorted, false);
}

// ---------------------------------------------------------------- schema

const name = z.string().min(1).max(256);
const privilege = z.string().regex(/^[a-z][a-z_ ]{0,63}$/, 'must be a privilege word such as select');
const columnPrivilege = z.enum(['select', 'insert', 'update', 'references']);
const objectRef = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('database') }),
  z.strictObject({ kind: z.literal('schema'), schema: name }),
  z.strictObject({ kind: z.literal('table'), schema: name, table: name }),
  z.strictObject({ kind: z.literal('sequence'), schema: name, sequence: name }),
]);
const accountKind = z.enum(['role', 'login']);
const base = { target: name, component: z.string().max(256), role: name, kind: accountKind };
const accountAttribute = z.discriminatedUnion('attribute', [
  z.strictObject({
    attribute: z.enum(['superuser', 'createdb', 'createrole', 'replication', 'bypassrls', 'noinherit']),
  }),
  z.strictObject({ attribute: z.literal('global-privilege'), privilege }),
  z.strictObject({ attribute: z.literal('tls-not-required') }),
  z.strictObject({ attribute: z.literal('tls-required') }),
  z.strictObject({ attribute: z.literal('max-user-connections'), count: z.number().int().min(0) }),
]);
// Every attribute the planner can clear must be readable from a planfile (see everyChangeType).
const everyAttribute: Record<
  Exclude<AccountAttribute['attribute'], z.infer<typeof accountAttribute>['attribute']>,
  never
> = {};
void everyAttribute;
const columns = {
  schema: name,
  table: name,
  privilege: columnPrivilege,
  columns: z.array(name).min(1),
};

const changeSchema = z.discriminatedUnion('type', [
  z.strictObject({ ...base, type: z.literal('create-role') }),
  z.strictObject({ ...base, type: z.literal('create-login') }),
  z.strictObject({ ...base, type: z.literal('adopt-role') }),
  z.strictObject({
    ...base,
    type: z.literal('alter-role'),
    canLogin: z.boolean().optional(),
    clear: z.array(accountAttribute),
    // The words of `clear` (attributeText); apply compares the whole change with its own plan.
    clearAttributes: z.array(z.string().regex(/^[a-z][a-z0-9_ ]{0,127}$/, 'must be words such as superuser')),
  }),
  z.strictObject({ ...base, type: z.literal('set-password') }),
  z.strictObject({ ...base, type: z.literal('grant-membership'), member: name, memberKind: accountKind }),
  z.strictObject({ ...base, type: z.literal('revoke-membership'), member: name, memberKind: accountKind }),
  z.strictObject({
    ...base,
    type: z.literal('grant'),
    object: objectRef,
    privileges: z.array(privilege).min(1),
  }),
  z.strictObject({
    ...base,
    type: z.literal('revoke'),
    object: objectRef,
    privileges: z.array(privilege).min(1),
  }),
  z.strictObject({
    ...base,
    type: z.literal('revoke-grant-option'),
    object: objectRef,
    privileges: z.array(privilege).min(1),
    columns: z.array(name).min(1).optional(),
  }),
  z.strictObject({ ...base, type: z.literal('grant-columns'), ...columns }),
  z.strictObject({ ...base, type: z.literal('revoke-columns'), ...columns }),
  z.strictObject({ ...base, type: z.literal('drop-login') }),
  z.strictObject({ ...base, type: z.literal('drop-role') }),
  z.strictObject({ ...base, type: z.literal('forget-role') }),
]);

// Every change type the planner makes must be readable from a planfile: this stops compiling when
// the Change union gains a type the schema above does not list.
const everyChangeType: Record<Exclude<Change['type'], z.infer<typeof changeSchema>['type']>, never> = {};
void everyChangeType;

const digestText = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256: and 64 hex digits');

const planfileSchema = z.strictObject({
  format: z.literal(PLANFILE_FORMAT),
  version: z.literal(PLANFILE_VERSION),
  dbwarden: z.string().max(64),
  createdAt: z.iso.datetime(),
  app: name,
  configDigest: digestText,
  options: z.strictObject({
    components: z.array(name).nullable(),
    rotatePasswords: z.boolean(),
  }),
  targets: z.array(
    z.strictObject({
      name,
      engine: z.enum(['postgres', 'mysql']),
      database: name,
      serverVersion: z.string().max(256),
      fingerprint: digestText,
    }),
  ),
  changes: z.array(z.strictObject({ intent: z.string().max(4096), change: changeSchema })),
  digest: digestText,
});

// ---------------------------------------------------------------- parsing

function refused(file: string, problem: string, hint?: string): InvalidInputError {
  return new InvalidInputError(`planfile ${file}: ${problem}; nothing was changed`, {
    hint: hint ?? 'make a new one with: dbwarden plan --out FILE',
  });
}

/**
 * A planfile's text as a Planfile, or InvalidInputError (exit 2) naming the
 * file and the first problems: not JSON, another format or version, a field
 * the schema refuses, a digest that does not match its content (an edit), or
 * a name no engine could hold.
 */
export function parsePlanfile(text: string, file: string): Planfile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw refused(file, `not JSON (${err instanceof Error ? err.message : 'unreadable'})`);
  }
  const head = (raw ?? {}) as { format?: unknown; version?: unknown };
  if (typeof raw !== 'object' || head.format !== PLANFILE_FORMAT) {
    throw refused(file, `not a dbwarden plan (format is not "${PLANFILE_FORMAT}")`);
  }
  if (head.version !== PLANFILE_VERSION) {
    throw refused(
      file,
      `version ${JSON.stringify(head.version)} is not one this dbwarden (${DBWARDEN_VERSION}) reads; it reads version ${PLANFILE_VERSION}`,
      'make the plan again with this dbwarden: dbwarden plan --out FILE',
    );
  }
  const parsed = planfileSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.map(String).join('.') || '(top)'}: ${i.message}`);
    throw refused(file, `does not match the planfile format: ${issues.join('; ')}`);
  }
  const planfile = parsed.data as Planfile;
  if (documentDigest(planfile) !== planfile.digest) {
    throw refused(
      file,
      'its content does not match its digest: it was edited or damaged after plan wrote it',
      'a reviewed plan is applied as plan wrote it; make a new one with: dbwarden plan --out FILE',
    );
  }
  const names = nameProblems(planfile);
  if (names.length > 0) throw refused(file, names.slice(0, 5).join('; '));
  return planfile;
}

/** Every name of every change checked by the identifier rules of its target's engine. */
function nameProblems(planfile: Planfile): string[] {
  const engines = new Map(planfile.targets.map((t) => [t.name, t.engine]));
  const problems: string[] = [];
  for (const [i, { change }] of planfile.changes.entries()) {
    const engine = engines.get(change.target);
    const where = `changes.${i}`;
    if (engine === undefined) {
      problems.push(`${where}: target "${change.target}" is not one of the planfile's targets`);
      continue;
    }
    const rules = IDENTIFIER_RULES[engine];
    const check = (value: string, kind: 'role' | 'object') => {
      const problem =
        invisibleCharacterProblem(value) ??
        (kind === 'role' ? rules.roleNameProblem(value) : rules.objectNameProblem(value));
      if (problem !== undefined) problems.push(`${where}: name ${JSON.stringify(value)} ${problem}`);
    };
    for (const role of rolesOf(change)) check(role, 'role');
    for (const object of objectsOf(change)) check(object, 'object');
    const component = invisibleCharacterProblem(change.component);
    if (component !== undefined) problems.push(`${where}: component ${component}`);
  }
  return problems;
}

function rolesOf(change: Change): string[] {
  return change.type === 'grant-membership' || change.type === 'revoke-membership'
    ? [change.role, change.member]
    : [change.role];
}

function objectsOf(change: Change): string[] {
  switch (change.type) {
    case 'grant':
    case 'revoke': {
      const o = change.object;
      if (o.kind === 'database') return [];
      if (o.kind === 'schema') return [o.schema];
      return [o.schema, o.kind === 'table' ? o.table : o.sequence];
    }
    case 'grant-columns':
    case 'revoke-columns':
      return [change.schema, change.table, ...change.columns];
    default:
      return [];
  }
}

// ---------------------------------------------------------------- files

/** Reads and parses a planfile (`shown`: its path as messages name it); an unreadable file is invalid input too. */
export function readPlanfile(file: string, shown: string = file): Planfile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw refused(shown, `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
  return parsePlanfile(text, shown);
}

/**
 * Writes the planfile whole or not at all: a temporary file in the same
 * directory, then a rename over FILE, so a reader never sees half a plan.
 */
export function writePlanfile(file: string, planfile: Planfile, shown: string = file): void {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(temp, serializePlanfile(planfile), { flag: 'w' });
    fs.renameSync(temp, file);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    const code = (err as NodeJS.ErrnoException).code ?? 'unwritable';
    throw new InvalidInputError(`--out ${shown}: cannot write the planfile (${code})`, {
      hint: 'name a file in a directory you can write',
    });
  }
}
