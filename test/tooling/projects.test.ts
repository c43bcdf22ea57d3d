/**
 * The test commands (vitest.config.ts, package.json, .ci/run): every test file runs in exactly one
 * project, so `npm test` runs it once; the unit project starts no server; `npm test` sets the
 * machine up first; CI runs the README's command.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import config from '../../vitest.config.js';

const root = path.resolve(import.meta.dirname, '../..');

interface Project {
  test: { name: string; include: string[]; globalSetup: string[] };
}

const projects = (config.test?.projects ?? []) as Project[];

/** The test files a project's include globs (all of the form `<dir>/**\/*.test.ts`) match. */
function filesOf(project: Project, files: readonly string[]): string[] {
  return files.filter((file) =>
    project.test.include.some((glob) => {
      const dir = /^([\w/-]+)\/\*\*\/\*\.test\.ts$/.exec(glob)?.[1];
      if (dir === undefined)
        throw new Error(`${project.test.name}: include ${glob} is not <dir>/**/*.test.ts`);
      return file.startsWith(`${dir}/`);
    }),
  );
}

describe('vitest projects', () => {
  const files = fs
    .readdirSync(path.join(root, 'test'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => `test/${f}`);

  it('put every test file in exactly one project', () => {
    expect(projects.map((p) => p.test.name)).toEqual(['unit', 'integration']);
    expect(files.length).toBeGreaterThan(50);
    const owners = new Map(
      files.map((f) => [f, projects.filter((p) => filesOf(p, [f]).length > 0).map((p) => p.test.name)]),
    );
    expect([...owners].filter(([, names]) => names.length !== 1)).toEqual([]);
    expect(filesOf(projects[0] as Project, files)).toContain('test/unit/plan/plan.test.ts');
    expect(filesOf(projects[1] as Project, files)).toContain('test/integration/nova/nova.test.ts');
  });

  it('start servers only for the integration project', () => {
    const setups = Object.fromEntries(projects.map((p) => [p.test.name, p.test.globalSetup]));
    expect(setups).toEqual({
      unit: ['test/harness/build-dist.ts'],
      integration: ['test/harness/build-dist.ts', 'test/harness/global-setup.ts'],
    });
    expect(config.test?.globalSetup).toBeUndefined();
  });
});

describe('the test commands', () => {
  const scripts = (
    JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    }
  ).scripts;

  it('npm test sets the machine up, then runs every project; npm run test:unit runs the unit project', () => {
    expect(scripts.test).toBe('tsx test/harness/ensure-packages.ts && vitest run');
    expect(scripts['test:unit']).toBe('vitest run --project unit');
  });

  it('.ci/run installs nothing itself and runs npm test', () => {
    const ci = fs.readFileSync(path.join(root, '.ci/run'), 'utf8');
    expect(ci).toMatch(/^npm test$/m);
    expect(ci).not.toContain('apt-get');
  });
});
