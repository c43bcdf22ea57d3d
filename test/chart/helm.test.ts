/**
 * The real Helm, where a `helm` binary is on PATH: `helm lint --strict` and `helm template` with
 * every example, the output checked against the chart policy (./checks.ts) and compared with this
 * repository's own rendering (./gotemplate.ts), which is what the other chart tests rely on.
 *
 * Where there is no helm (no machine this project runs on has one), these checks do NOT run: one
 * test says so on stderr and checks only that helm is really missing. That test passing means
 * "helm absent, reported", never "helm checks passed".
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  type Dict,
  type K8sObject,
  SCENARIOS,
  chartDir,
  exampleValues,
  parseManifests,
  render,
} from './chart.js';
import { checkRendered } from './checks.js';

/** The first executable `helm` on PATH, like `which helm`. */
function findHelm(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, 'helm');
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      continue; // not in this directory
    }
  }
  return undefined;
}

const helm = findHelm();
const NAMESPACE = 'nova';
const RELEASE = 'nova-dbwarden';

function runHelm(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(helm ?? 'helm', args, { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const valuesArgs = (files: string[]) => files.flatMap((f) => ['-f', path.join(chartDir, 'examples', f)]);

/** Objects comparable across renderers: the config parsed, the Job's config hash masked. */
function normalize(objects: K8sObject[]): K8sObject[] {
  return objects
    .map((o) => {
      const copy = structuredClone(o);
      if (copy.kind === 'ConfigMap') {
        const data = copy.data as Record<string, string>;
        copy.data = { ...data, 'dbwarden.yaml': parse(data['dbwarden.yaml'] ?? '') as unknown };
      }
      // The hash covers the config's YAML text, which go-yaml and the yaml package lay out differently.
      if (copy.kind === 'Job') copy.metadata.name = copy.metadata.name.replace(/-[0-9a-f]{8}$/, '-<hash>');
      return copy;
    })
    .sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`));
}

describe('helm', () => {
  if (helm === undefined) {
    it('is not on PATH: `helm lint --strict` and `helm template` did NOT run here', () => {
      process.stderr.write(
        'chart checks: no helm binary on PATH, so `helm lint --strict` and `helm template` did NOT run; ' +
          'the chart was checked only by values.schema.json (ajv) and the repository renderer (test/chart/gotemplate.ts)\n',
      );
      expect(findHelm()).toBeUndefined();
    });
    return;
  }

  it(`found at ${helm}`, () => {
    const version = runHelm(['version', '--short']);
    process.stderr.write(`chart checks: running helm ${version.stdout.trim()}\n`);
    expect(version.status).toBe(0);
  });

  describe.each(SCENARIOS)('$title', ({ files }) => {
    it('helm lint --strict passes', () => {
      const lint = runHelm(['lint', '--strict', chartDir, '--namespace', NAMESPACE, ...valuesArgs(files)]);
      expect(lint.status, `${lint.stdout}\n${lint.stderr}`).toBe(0);
    });

    it('helm template renders what the chart policy requires, and what the repository renderer renders', () => {
      const out = runHelm(['template', RELEASE, chartDir, '--namespace', NAMESPACE, ...valuesArgs(files)]);
      expect(out.status, out.stderr).toBe(0);
      const objects = parseManifests(out.stdout, 'helm template');
      const values: Dict = exampleValues(...files);
      checkRendered(objects, values, NAMESPACE);
      const ours = render(values, { releaseName: RELEASE, namespace: NAMESPACE });
      expect(normalize(ours)).toEqual(normalize(objects));
    });
  });

  it('helm template refuses the defaults alone, saying what to set', () => {
    const out = runHelm(['template', RELEASE, chartDir, '--namespace', NAMESPACE]);
    expect(out.status).not.toBe(0);
    expect(out.stderr).toMatch(/set config \(the content of dbwarden.yaml\) or existingConfigMap/);
  });
});
