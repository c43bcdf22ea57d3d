/**
 * vitest globalSetup: compiles src/ to dist/ once per run, before any test file starts, so tests
 * that spawn the real `bin/dbwarden.js` run the code under test and never race each other
 * rebuilding it.
 *
 * Skipped when dist/ was built from exactly the src/ that is there now: dist/.build-stamp holds
 * the path, size and mtime of every file tsc read (src/, tsconfig*.json, package.json), so the
 * inner loop (`npm run test:unit`) does not pay for tsc when nothing changed, and both projects of
 * a full run (vitest.config.ts) build at most once.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const STAMP = path.join(root, 'dist', '.build-stamp');

/** One line per input of the build: path, size, mtime. */
export function buildInputs(dir = root): string {
  const src = fs
    .readdirSync(path.join(dir, 'src'), { recursive: true, encoding: 'utf8' })
    .map((f) => path.join('src', f));
  const files = [...src, 'tsconfig.json', 'tsconfig.build.json', 'package.json'].sort();
  return files
    .flatMap((file) => {
      const stat = fs.statSync(path.join(dir, file));
      return stat.isFile() ? [`${file} ${stat.size} ${stat.mtimeMs}`] : [];
    })
    .join('\n');
}

export default function setup(): void {
  const inputs = buildInputs();
  const built = fs.existsSync(STAMP) ? fs.readFileSync(STAMP, 'utf8') : '';
  if (built === inputs) return;
  fs.rmSync(STAMP, { force: true });
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  fs.writeFileSync(STAMP, inputs);
}
