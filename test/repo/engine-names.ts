/**
 * Where src/ names a database engine outside src/dialects/ (issue 16, point 1): every code token,
 * comments left out, that holds "postgres", "mysql" or "mariadb" (identifiers, strings, URL
 * schemes, types). `npx tsx test/repo/engine-names.ts` prints them per file.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export const ENGINE_WORD = /postgres|mysql|mariadb/i;

/** Identifiers and string or template texts (never comments) of one file that name an engine. */
export function engineTokens(text: string): string[] {
  const source = ts.createSourceFile('file.ts', text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isIdentifier(node) ||
      ts.isPrivateIdentifier(node) ||
      ts.isStringLiteralLike(node) ||
      ts.isTemplateLiteralToken(node)
    ) {
      const token = node.getText(source);
      if (ENGINE_WORD.test(token)) found.push(token);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Per file (relative to root, `/`-separated), how many engine-naming tokens it has outside src/dialects/. */
export function engineNamesOutsideDialects(root: string): Map<string, number> {
  const counts = new Map<string, number>();
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const relative = path.relative(root, full).split(path.sep).join('/');
      if (entry.isDirectory()) {
        if (relative !== 'src/dialects') walk(full);
      } else if (entry.name.endsWith('.ts')) {
        const n = engineTokens(fs.readFileSync(full, 'utf8')).length;
        if (n > 0) counts.set(relative, n);
      }
    }
  };
  walk(path.join(root, 'src'));
  return counts;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = path.resolve(import.meta.dirname, '../..');
  for (const [file, n] of [...engineNamesOutsideDialects(root)].sort(([, a], [, b]) => b - a)) {
    process.stdout.write(`${n}\t${file}\n`);
  }
}
