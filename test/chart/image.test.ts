/**
 * The container image the chart runs, as far as it can be checked without a Docker engine (there is
 * none here, so the image is never built by this suite): the Dockerfile keeps the properties the
 * chart relies on, and the chart, the image and package.json agree.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultValues, readYaml, root } from './chart.js';

const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
/** Instructions, comments dropped and continuation lines joined. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));
const stages = instructions
  .join('\n')
  .split(/^(?=FROM )/m)
  .slice(1);
const finalStage = stages.at(-1) ?? '';

describe('Dockerfile', () => {
  it('builds on a pinned Node 22 LTS slim image, in several stages', () => {
    const arg = instructions.find((l) => l.startsWith('ARG NODE_IMAGE='));
    expect(arg).toMatch(/^ARG NODE_IMAGE=node:22\.\d+\.\d+-bookworm-slim$/);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage).toMatch(/^FROM \$\{NODE_IMAGE\}/);
  });

  it('installs production dependencies only for the final image, without the prepare script', () => {
    expect(dockerfile).toMatch(/npm ci --omit=dev --ignore-scripts/);
    expect(finalStage).not.toMatch(/npm (ci|install)/);
    expect(finalStage).toMatch(/COPY --from=\w+ \/\S+\/dist \.\/dist/);
  });

  it('ships the policies and the migrations dbwarden loads at run time', () => {
    expect(finalStage).toMatch(/^COPY policies \.\/policies$/m);
    expect(finalStage).toMatch(/^COPY migrations \.\/migrations$/m);
    expect(finalStage).toMatch(/^COPY bin \.\/bin$/m);
  });

  it('runs dbwarden as the numeric non-root user the chart declares', () => {
    const user = /^USER (\d+):(\d+)$/m.exec(finalStage);
    expect(user).not.toBeNull();
    const ids = defaultValues().securityContext as Record<string, number>;
    expect(Number(user?.[1])).toBe(ids.runAsUser);
    expect(Number(user?.[2])).toBe(ids.runAsGroup);
    expect(Number(user?.[1])).toBeGreaterThan(0);
    expect(finalStage).toMatch(/^ENTRYPOINT \["dbwarden"\]$/m);
    expect(finalStage).toMatch(/^CMD \["--help"\]$/m);
    expect(finalStage).toMatch(/ln -s \/app\/bin\/dbwarden\.js \/usr\/local\/bin\/dbwarden/);
  });

  it('keeps HOME on /tmp, the only writable path under the chart', () => {
    expect(finalStage).toMatch(/^ENV .*HOME=\/tmp/m);
  });
});

describe('.dockerignore', () => {
  it('is an allowlist: key material, credentials and local builds never enter the build context', () => {
    const lines = fs
      .readFileSync(path.join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'));
    expect(lines[0]).toBe('*');
    const allowed = lines.slice(1);
    expect(allowed.every((l) => l.startsWith('!'))).toBe(true);
    for (const secret of ['credentials', 'master-keys', 'node_modules', 'dist', '.git']) {
      expect(
        allowed.some((l) => l.includes(secret)),
        secret,
      ).toBe(false);
    }
  });
});

describe('versions', () => {
  it("the chart's appVersion (the default image tag) is the package version", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
    expect(readYaml('Chart.yaml').appVersion).toBe(pkg.version);
  });
});
