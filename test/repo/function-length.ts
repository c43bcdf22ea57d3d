/**
 * Measures every function in src/ with the TypeScript compiler API (issue 16, point 5): a function
 * is a FunctionDeclaration, MethodDeclaration, ArrowFunction, FunctionExpression, constructor or
 * accessor; its length is the number of lines from its first token to its last, and its
 * parameters are counted as declared (a destructured object counts as one).
 *
 * `npx tsx test/repo/function-length.ts [lines]` lists the functions of src/ longer than `lines`
 * (default 60), longest first.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export interface FunctionLength {
  /** Path relative to the repository root, with forward slashes. */
  file: string;
  /** Declared name, `Class.method`, or `<enclosing>/<anonymous #n>` for an unnamed function. */
  name: string;
  /** 1-based line of the function's first token. */
  line: number;
  lines: number;
  /** Positional parameters. */
  parameters: number;
}

type FunctionNode =
  | ts.FunctionDeclaration
  | ts.MethodDeclaration
  | ts.ArrowFunction
  | ts.FunctionExpression
  | ts.ConstructorDeclaration
  | ts.GetAccessorDeclaration
  | ts.SetAccessorDeclaration;

function isFunctionNode(node: ts.Node): node is FunctionNode {
  return (
    ts.isFunctionDeclaration(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isArrowFunction(node) ||
    ts.isFunctionExpression(node) ||
    ts.isConstructorDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node)
  );
}

/** The name a reader would search for: the declaration's own name or the variable/property it is assigned to. */
function ownName(node: FunctionNode): string | undefined {
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  if (node.name !== undefined && !ts.isArrowFunction(node)) return node.name.getText();
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent))
    return parent.name.getText();
  return undefined;
}

function className(node: ts.Node): string | undefined {
  const parent = node.parent;
  if ((ts.isClassDeclaration(parent) || ts.isClassExpression(parent)) && parent.name !== undefined)
    return parent.name.text;
  return undefined;
}

/** Every function of one source file, named so that the name stays stable while lines move. */
export function measureSource(file: string, text: string): FunctionLength[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: FunctionLength[] = [];
  const lineOf = (pos: number) => source.getLineAndCharacterOfPosition(pos).line + 1;
  const visit = (node: ts.Node, enclosing: string, anonymous: { count: number }): void => {
    if (!isFunctionNode(node)) {
      ts.forEachChild(node, (child) => visit(child, enclosing, anonymous));
      return;
    }
    const own = ownName(node);
    const owner = className(node);
    const local = own === undefined ? `<anonymous #${++anonymous.count}>` : owner ? `${owner}.${own}` : own;
    const name = enclosing === '' ? local : `${enclosing}/${local}`;
    const line = lineOf(node.getStart(source));
    found.push({
      file,
      name,
      line,
      lines: lineOf(node.getEnd()) - line + 1,
      parameters: node.parameters.length,
    });
    const inner = { count: 0 };
    ts.forEachChild(node, (child) => visit(child, name, inner));
  };
  visit(source, '', { count: 0 });
  return found;
}

/** Every function of every .ts file under `dir` (relative to `root`). */
export function measureTree(root: string, dir: string): FunctionLength[] {
  const files = fs
    .readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.posix.join(dir, f.split(path.sep).join('/')))
    .sort();
  return files.flatMap((file) => measureSource(file, fs.readFileSync(path.join(root, file), 'utf8')));
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.filename === path.resolve(entry)) {
  const limit = Number(process.argv[2] ?? '60');
  const root = path.resolve(import.meta.dirname, '../..');
  const long = measureTree(root, 'src')
    .filter((f) => f.lines > limit)
    .sort((a, b) => b.lines - a.lines);
  for (const f of long) process.stdout.write(`${f.lines}\t${f.file}:${f.line}\t${f.name}\n`);
}
