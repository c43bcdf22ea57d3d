/**
 * charts/dbwarden for the tests: its files, its values merged the way Helm merges them, the values
 * schema (ajv, draft-07 like Helm), and its templates rendered by ./gotemplate.ts into Kubernetes
 * objects. Reads only files under charts/dbwarden (and the repository's own JSON Schemas).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { parse, parseAllDocuments } from 'yaml';
import { TemplateSet } from './gotemplate.js';

export const root = path.resolve(import.meta.dirname, '../..');
export const chartDir = path.join(root, 'charts/dbwarden');

export type Dict = Record<string, unknown>;
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Dict; annotations?: Record<string, string> };
  [key: string]: unknown;
}

const isDict = (v: unknown): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v);

export const readChartFile = (relative: string): string =>
  fs.readFileSync(path.join(chartDir, relative), 'utf8');
export const readYaml = (relative: string): Dict => parse(readChartFile(relative)) as Dict;

export const defaultValues = (): Dict => readYaml('values.yaml');
export const exampleFiles = (): string[] =>
  fs
    .readdirSync(path.join(chartDir, 'examples'))
    .filter((f) => f.endsWith('.yaml'))
    .sort();
export const templateFiles = (): string[] => fs.readdirSync(path.join(chartDir, 'templates')).sort();

/** Helm's coalescing: maps merge key by key, anything else is replaced, null removes the key. */
export function mergeValues(base: Dict, ...overrides: Dict[]): Dict {
  let result: Dict = structuredClone(base);
  for (const override of overrides) {
    const merged: Dict = Object.fromEntries(Object.entries(result).filter(([key]) => override[key] !== null));
    for (const [key, value] of Object.entries(override)) {
      if (value === null) continue;
      const current = merged[key];
      merged[key] = isDict(current) && isDict(value) ? mergeValues(current, value) : structuredClone(value);
    }
    result = merged;
  }
  return result;
}

/** The values of a list of example files, over the chart's defaults (as `helm -f a -f b`). */
export const exampleValues = (...files: string[]): Dict =>
  mergeValues(defaultValues(), ...files.map((f) => readYaml(`examples/${f}`)));

// strict: unknown keywords and formats are errors (a typo in the schema would otherwise pass
// everything); strictTypes off: the conditional subschemas refine properties typed elsewhere.
const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
const validate = ajv.compile(JSON.parse(readChartFile('values.schema.json')) as object);

/** The schema's verdict on complete (merged) values, with ajv's messages. */
export function checkSchema(values: Dict): { ok: boolean; errors: string[] } {
  const ok = validate(values);
  const errors = (validate.errors ?? []).map(
    (e: ErrorObject) => `${e.instancePath || '/'} ${e.message ?? ''}`,
  );
  return { ok, errors };
}

export interface RenderOptions {
  releaseName?: string;
  namespace?: string;
}

/**
 * Renders every template with the given complete values, as `helm template` would: schema first
 * (Helm refuses values the schema rejects), then each file. Returns each file's text.
 */
export function renderFiles(values: Dict, options: RenderOptions = {}): Map<string, string> {
  const verdict = checkSchema(values);
  if (!verdict.ok) throw new Error(`values do not match values.schema.json: ${verdict.errors.join('; ')}`);
  const chart = readYaml('Chart.yaml');
  const set = new TemplateSet();
  const files = templateFiles();
  for (const file of files) set.add(`dbwarden/templates/${file}`, readChartFile(`templates/${file}`));
  const data = {
    Values: values,
    Release: {
      Name: options.releaseName ?? 'nova-dbwarden',
      Namespace: options.namespace ?? 'nova',
      Service: 'Helm',
      IsInstall: true,
      IsUpgrade: false,
      Revision: 1,
    },
    Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
  };
  const out = new Map<string, string>();
  for (const file of files.filter((f) => !f.startsWith('_') && f.endsWith('.yaml'))) {
    const name = `dbwarden/templates/${file}`;
    out.set(name, set.render(name, { ...data, Template: { Name: name } }));
  }
  return out;
}

/** renderFiles, parsed into Kubernetes objects, in file order. */
export function render(values: Dict, options: RenderOptions = {}): K8sObject[] {
  return [...renderFiles(values, options)].flatMap(([name, text]) => parseManifests(text, name));
}

/** Parses rendered output strictly: any YAML error, or a document that is no object, throws. */
export function parseManifests(text: string, source: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text, { uniqueKeys: true })) {
    if (doc.errors.length > 0) {
      throw new Error(`${source}: not valid YAML: ${doc.errors.map((e) => e.message).join('; ')}\n${text}`);
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (!isDict(value) || typeof value.kind !== 'string' || !isDict(value.metadata)) {
      throw new Error(`${source}: a document that is not a Kubernetes object:\n${text}`);
    }
    objects.push(value as unknown as K8sObject);
  }
  return objects;
}

/** The one object of a kind; fails when there is not exactly one. */
export function one(objects: K8sObject[], kind: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0] as K8sObject;
}

/** Reads a nested field by path, for assertions: get(job, 'spec', 'template', 'spec'). */
export function get(value: unknown, ...keys: (string | number)[]): unknown {
  let v = value;
  for (const key of keys) {
    if (Array.isArray(v) && typeof key === 'number') v = v[key];
    else if (isDict(v) && typeof key === 'string') v = v[key];
    else return undefined;
  }
  return v;
}

/** The Job's pod spec and its one container. */
export function podOf(objects: K8sObject[]): { pod: Dict; container: Dict } {
  const pod = get(one(objects, 'Job'), 'spec', 'template', 'spec') as Dict;
  const containers = pod.containers as Dict[];
  if (containers.length !== 1 || containers[0] === undefined) throw new Error('expected one container');
  return { pod, container: containers[0] };
}

/** The examples as operators use them: each a list of values files, over the defaults. */
export const SCENARIOS: { title: string; files: string[] }[] = [
  { title: 'Nova on PostgreSQL, credentials in Kubernetes Secrets', files: ['nova-postgresql.yaml'] },
  { title: 'GitOps on MariaDB, without Helm hooks', files: ['gitops-mariadb.yaml'] },
  { title: 'explicit downgrade of the Nova release', files: ['nova-postgresql.yaml', 'downgrade.yaml'] },
  { title: 'existing ConfigMap, credentials on a volume', files: ['existing-configmap.yaml'] },
];
