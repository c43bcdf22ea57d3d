/**
 * Shape of policy files and the deployment config, as zod schemas.
 *
 * These schemas check structure only (keys, types, allowed words). Rules that
 * depend on other files or on the target engine (identifier limits, kinds no
 * target has, duplicate components) live in deployment.ts, where every problem
 * can be reported with its place. The JSON Schema printed by `dbwarden schema`
 * is generated from these, so editors and dbwarden agree on the format.
 */
import { z } from 'zod';
import {
  DEFAULT_SECRET_NAME_PATTERN,
  NAMESPACE_MAX_LENGTH,
  NAMESPACE_NAME,
  SECRET_NAME_PATTERN_SYNTAX,
} from './secret-name.js';
import { COLUMN_VERBS, VERBS } from './model.js';
import { NAME_PATTERN } from './names.js';

const TARGET_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const KEY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const ENV_VAR_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

const nameSchema = (what: string) =>
  z
    .string()
    .regex(NAME_PATTERN, { error: `${what} must be lowercase letters, digits and _, starting with a letter` })
    .max(48);

/** Table, column and schema names: engine limits are checked later, per target engine. */
const identifierSchema = z.string().min(1, { error: 'an identifier cannot be empty' });

const verbSchema = z.enum(VERBS);

const verbListSchema = z
  .array(verbSchema)
  .min(1, { error: 'empty verb list: list at least one verb, or remove the table' })
  .meta({ description: 'Table-level verbs: select, insert, update, delete' });

const columnListSchema = z
  .array(identifierSchema)
  .min(1, { error: 'empty column list: list at least one column, or remove the verb' });

const columnsOrAll = z.union([z.literal('all'), columnListSchema]);

const columnFormSchema = z
  .strictObject({
    select: columnsOrAll.optional(),
    insert: columnsOrAll.optional(),
    update: columnsOrAll.optional(),
    delete: z
      .literal('all', { error: 'delete applies to whole rows: write `delete: all`, or use the list form' })
      .optional(),
  })
  .meta({
    description: `Column-level form: verb -> list of columns, or 'all' for the whole table. Only ${COLUMN_VERBS.join(', ')} can be limited to columns.`,
  });

const tableAccessSchema = z.union([verbListSchema, columnFormSchema]);

/**
 * A mapping keyed by the user's own names (database kinds, tables). zod's
 * record skips a key named "__proto__" without a word, which would drop a
 * table of that name from the policy; files are therefore parsed with the Map
 * flavor, which keeps every key. The record flavor describes the same YAML in
 * the JSON Schema printed for editors.
 */
type UserKeyed = <V extends z.ZodType>(
  key: z.ZodType<string>,
  value: V,
) => z.ZodType<ReadonlyMap<string, z.output<V>>, unknown>;

function asMap<V extends z.ZodType>(
  key: z.ZodType<string>,
  value: V,
): z.ZodType<ReadonlyMap<string, z.output<V>>, unknown> {
  const toMap = (input: unknown) =>
    input !== null && typeof input === 'object' && !Array.isArray(input)
      ? new Map(Object.entries(input))
      : input;
  return z.preprocess(toMap, z.map(keyChecked(key), value)) as z.ZodType<
    ReadonlyMap<string, z.output<V>>,
    unknown
  >;
}

/** For JSON Schema only: never parses (its output is a plain object, not the Map the type claims). */
function asRecord<V extends z.ZodType>(
  key: z.ZodType<string>,
  value: V,
): z.ZodType<ReadonlyMap<string, z.output<V>>, unknown> {
  return z.record(key, value) as unknown as z.ZodType<ReadonlyMap<string, z.output<V>>, unknown>;
}

/**
 * A map key checked by `key`, its problems reported as zod's record reports
 * them (`invalid_key`), so that diagnostics point at the key, not its value.
 */
function keyChecked(key: z.ZodType<string>): z.ZodString {
  return z.string().check((payload) => {
    const checked = key.safeParse(payload.value, { reportInput: true });
    if (checked.success) return;
    payload.issues.push({
      code: 'invalid_key',
      origin: 'map',
      issues: checked.error.issues,
      input: payload.value,
      path: [],
    });
  });
}

function makePolicySchema(userKeyed: UserKeyed) {
  const databaseAccessSchema = z.strictObject({
    schema: identifierSchema.optional().meta({ description: 'PostgreSQL schema; default public' }),
    tables: userKeyed(z.string(), tableAccessSchema).meta({ description: 'table name -> verbs' }),
  });
  return z
    .strictObject({
      component: nameSchema('component')
        .refine((name) => !name.endsWith('_role'), {
          error: 'component names cannot end in _role: that suffix names the grant role of another component',
        })
        .meta({
          description: 'Component name; logins are <app>_<component>, grant roles <app>_<component>_role',
        }),
      description: z.string().optional(),
      databases: userKeyed(nameSchema('database kind'), databaseAccessSchema).optional().meta({
        description: 'Database kind -> tables. Leave out for a component that needs no database login.',
      }),
    })
    .meta({ title: 'dbwarden policy', description: 'Which tables and verbs one component needs' });
}

export const policySchema = makePolicySchema(asMap);
const policyJsonSchema = makePolicySchema(asRecord);

export type PolicyInput = z.infer<typeof policySchema>;
export type TableAccessInput = z.infer<typeof tableAccessSchema>;

const targetSchema = z.strictObject({
  name: z
    .string()
    .regex(TARGET_NAME_PATTERN, { error: 'target name must be letters, digits, _, . and -' })
    .max(63),
  kind: nameSchema('database kind'),
  url: z
    .string()
    .optional()
    .meta({ description: 'Admin connection URL: postgres://, postgresql://, mysql:// or mariadb://' }),
  urlFile: z.string().optional().meta({ description: 'File holding the admin URL (relative to this file)' }),
  engine: z
    .enum(['postgres', 'mysql'])
    .optional()
    .meta({ description: 'Engine, when the URL does not show it (urlFile)' }),
});

const credentialsSchema = z.strictObject({
  dir: z.string().optional().meta({ description: 'Directory for <component>.json files (mode 0600)' }),
  kubernetes: z
    .strictObject({
      namespace: z
        .string()
        .max(NAMESPACE_MAX_LENGTH, {
          error: `a Kubernetes namespace name has at most ${NAMESPACE_MAX_LENGTH} characters`,
        })
        .regex(NAMESPACE_NAME, {
          error:
            'a Kubernetes namespace name has lowercase letters, digits and "-", and starts and ends with a letter or digit',
        })
        .optional()
        .meta({
          description: "Namespace of the Secrets; default: the pod's own namespace (required outside a pod)",
        }),
      secretName: z
        .string()
        .regex(SECRET_NAME_PATTERN_SYNTAX, {
          error:
            'secretName may hold lowercase letters, digits, "-", "." and the placeholders {app} and {component}',
        })
        .optional()
        .meta({
          description: `Secret name pattern with {app} and {component}; default ${DEFAULT_SECRET_NAME_PATTERN}. Each name must be a valid Kubernetes name (RFC 1123 subdomain).`,
        }),
    })
    .optional()
    .meta({
      description:
        'Write one Secret (type kubernetes.io/basic-auth: username, password, <target>-url) per component',
    }),
});

const secretsEntrySchema = z.strictObject({
  kind: nameSchema('database kind'),
  schema: identifierSchema.optional(),
  table: identifierSchema,
  primaryKey: identifierSchema,
  columns: z.array(identifierSchema).min(1, { error: 'list at least one column to encrypt' }),
  lookup: z
    .array(identifierSchema)
    .optional()
    .meta({ description: 'Columns the application finds rows by; dbwarden keeps a blind index' }),
});

const masterKeyRefSchema = z.strictObject({
  id: z.string().regex(KEY_ID_PATTERN, { error: 'key id must be letters, digits, _, . and -' }).max(64),
  file: z.string().optional().meta({ description: 'File with 32 key bytes, raw or base64' }),
  env: z
    .string()
    .regex(ENV_VAR_PATTERN, { error: 'env must name an environment variable' })
    .optional()
    .meta({ description: 'Environment variable holding the key, base64 of 32 bytes' }),
  kms: z.string().optional().meta({ description: 'AWS KMS key ARN' }),
});

export const configSchema = z
  .strictObject({
    app: nameSchema('app'),
    policies: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .meta({ description: 'Directory of policy files, or a list of files, relative to this file' }),
    targets: z.array(targetSchema).min(1, { error: 'list at least one target' }),
    credentials: credentialsSchema.optional(),
    hardenPublic: z.boolean().optional().meta({
      description:
        'PostgreSQL: revoke CREATE on schema public and CONNECT/TEMPORARY on every target database from PUBLIC, so only roles granted them can use the databases (default false)',
    }),
    mysql: z
      .strictObject({
        host: z
          .string()
          .min(1)
          .max(255)
          .regex(/^[^'\\\s]+$/, { error: 'a MySQL host pattern has no quotes, backslashes or spaces' })
          .optional()
          .meta({
            description: "Host part of every login: '<app>_<component>'@'<host>' (default %: any host)",
          }),
        requireTls: z
          .boolean()
          .optional()
          .meta({ description: 'Logins must connect over TLS: REQUIRE SSL (default false)' }),
        maxUserConnections: z
          .number()
          .int()
          .min(0)
          .max(4294967295)
          .optional()
          .meta({ description: 'MAX_USER_CONNECTIONS of every login (default 0: no limit)' }),
      })
      .optional()
      .meta({ description: 'MySQL/MariaDB targets only: how logins are set up' }),
    secrets: z.array(secretsEntrySchema).optional(),
    masterKey: z
      .strictObject({
        current: masterKeyRefSchema,
        previous: z.array(masterKeyRefSchema).optional(),
      })
      .optional(),
  })
  .meta({ title: 'dbwarden deployment config', description: 'dbwarden.yaml' });

export type ConfigInput = z.infer<typeof configSchema>;

/** JSON Schemas for editors (draft-07: what yaml-language-server understands best). */
export function jsonSchemas(): { policy: unknown; config: unknown } {
  return {
    policy: z.toJSONSchema(policyJsonSchema, { target: 'draft-7' }),
    config: z.toJSONSchema(configSchema, { target: 'draft-7' }),
  };
}
