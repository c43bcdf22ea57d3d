/**
 * The files we ship agree with the code: the JSON Schemas editors use are
 * the ones `dbwarden schema` prints, and every shipped policy and example is
 * valid for both the editor schema and dbwarden itself.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadDeployment, loadPolicies } from '../../src/policy/load.js';
import { jsonSchemas } from '../../src/policy/schema.js';

const root = path.resolve(import.meta.dirname, '../..');
const schemaFile = (name: string) => path.join(root, 'docs/schema', `${name}.schema.json`);
const readJson = (file: string): unknown => JSON.parse(fs.readFileSync(file, 'utf8'));
const policyFiles = fs
  .readdirSync(path.join(root, 'policies'), { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => path.join(root, 'policies', f));

describe('shipped JSON Schemas', () => {
  it('equal what `dbwarden schema` prints (run `npm run schema:write` after changing the format)', () => {
    const schemas = jsonSchemas();
    expect(readJson(schemaFile('policy'))).toEqual(JSON.parse(JSON.stringify(schemas.policy)));
    expect(readJson(schemaFile('config'))).toEqual(JSON.parse(JSON.stringify(schemas.config)));
  });

  it('accept every shipped policy and example, and reject a misspelt verb', () => {
    const ajv = new Ajv({ strict: false });
    const validatePolicy = ajv.compile(readJson(schemaFile('policy')) as object);
    expect(policyFiles.length).toBeGreaterThanOrEqual(6);
    for (const file of policyFiles) {
      expect(
        validatePolicy(parse(fs.readFileSync(file, 'utf8'))),
        `${file}: ${ajv.errorsText(validatePolicy.errors)}`,
      ).toBe(true);
    }
    expect(validatePolicy({ component: 'x', databases: { main: { tables: { t: ['selct'] } } } })).toBe(false);

    const validateConfig = ajv.compile(readJson(schemaFile('config')) as object);
    const example = parse(fs.readFileSync(path.join(root, 'examples/nova/dbwarden.yaml'), 'utf8'));
    expect(validateConfig(example), ajv.errorsText(validateConfig.errors)).toBe(true);
    expect(validateConfig({ ...example, targetz: [] })).toBe(false);
  });
});

describe('shipped policies', () => {
  it('name their JSON Schema on the first line, for editors', () => {
    for (const file of policyFiles) {
      const first = fs.readFileSync(file, 'utf8').split('\n')[0];
      const relative = path.relative(path.dirname(file), schemaFile('policy'));
      expect(first, file).toBe(`# yaml-language-server: $schema=${relative}`);
    }
  });

  it('validate without problems, on their own and through the example config', () => {
    const alone = loadPolicies([path.join(root, 'policies/nova')]);
    expect(alone.diagnostics.sorted()).toEqual([]);
    const deployment = loadDeployment(path.join(root, 'examples/nova/dbwarden.yaml'), {});
    expect(deployment.diagnostics.sorted()).toEqual([]);
    expect(deployment.value?.policies.map((p) => p.component)).toEqual([
      'api',
      'compute',
      'conductor',
      'metadata',
      'novncproxy',
      'scheduler',
    ]);
  });
});
