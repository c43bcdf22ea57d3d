/**
 * YAML documents that remember where every value came from, so that each
 * diagnostic can name file:line:col.
 */
import {
  type Document,
  isCollection,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  type YAMLError,
} from 'yaml';
import type { DiagnosticList, SourcePosition } from './diagnostics.js';

/** Policy and config files are small; anything larger is a mistake or an attack. */
export const MAX_FILE_BYTES = 1024 * 1024;
/** Anchors may be reused this many times before the document is refused (no alias bombs). */
const MAX_ALIAS_COUNT = 100;
/** Policies need about eight levels of nesting; far deeper documents would exhaust the stack later. */
export const MAX_NESTING_DEPTH = 64;

export type PathSegment = string | number;

export interface YamlSource {
  readonly file: string;
  readonly doc: Document.Parsed;
  readonly lineCounter: LineCounter;
}

/**
 * Parses one YAML document. Syntax errors go to `diags`; returns undefined when
 * the document cannot be used at all. A returned source may still have had
 * errors (duplicate keys): callers decide by the diagnostics, not by the return.
 */
export function parseYaml(file: string, text: string, diags: DiagnosticList): YamlSource | undefined {
  const byteLength = Buffer.byteLength(text, 'utf8');
  if (byteLength > MAX_FILE_BYTES) {
    diags.error(
      { file, line: 0, col: 0 },
      `file is ${byteLength} bytes, larger than the ${MAX_FILE_BYTES} bytes dbwarden reads`,
      'split it into one file per component',
    );
    return undefined;
  }
  const lineCounter = new LineCounter();
  // stringKeys: a table named 1.50 stays "1.50", and a list used as a key is refused.
  const doc = parseDocument(text, {
    lineCounter,
    merge: true,
    // Checked by reportDuplicateKeys: the library compares each key with every
    // earlier one, which is quadratic in a policy of thousands of tables.
    uniqueKeys: false,
    stringKeys: true,
    prettyErrors: false,
  });
  const source: YamlSource = { file, doc, lineCounter };
  if (reportTooDeep(source, diags)) return undefined;
  for (const err of doc.errors) reportYamlError(source, text, err, diags);
  if (doc.errors.length > 0) return undefined;
  // A duplicate key leaves a readable document: keep checking it, so its other problems show too.
  // Callers still refuse the file, since the duplicate is an error.
  reportDuplicateKeys(source, text, diags);
  return source;
}

/** Every key that repeats an earlier key of its mapping, in one pass per mapping. */
function reportDuplicateKeys(source: YamlSource, text: string, diags: DiagnosticList): void {
  const pending: unknown[] = [source.doc.contents];
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (!isCollection(node)) continue;
    const seen = new Set<string>();
    for (const item of node.items) {
      if (!isPair(item)) {
        pending.push(item);
        continue;
      }
      pending.push(item.value);
      // `<<` merge keys may repeat; yaml merges each of them.
      if (!isMap(node) || !isScalar(item.key) || item.key.value === '<<') continue;
      const key = String(item.key.value);
      if (!seen.has(key)) {
        seen.add(key);
        continue;
      }
      const offset = rangeStart(item.key) ?? 0;
      diags.error(
        positionAt(source, offset),
        `duplicate key ${quoteKeyAt(text, offset)}`,
        'each key may appear once in a mapping',
      );
    }
  }
}

function reportYamlError(source: YamlSource, text: string, err: YAMLError, diags: DiagnosticList): void {
  const at = positionAt(source, err.pos[0]);
  if (err.code === 'NON_STRING_KEY') {
    diags.error(at, 'YAML: a key must be a plain name, not a list, a mapping or an alias');
  } else {
    diags.error(at, `YAML: ${firstLine(err.message)}`);
  }
}

/**
 * One error for a document nested deeper than MAX_NESTING_DEPTH, instead of the
 * hundreds of follow-on errors (or a stack overflow) such a document causes.
 */
function reportTooDeep(source: YamlSource, diags: DiagnosticList): boolean {
  const exhausted = source.doc.errors.find((err) => err.code === 'RESOURCE_EXHAUSTION');
  const offset = exhausted ? exhausted.pos[0] : offsetDeeperThan(source.doc.contents, MAX_NESTING_DEPTH);
  if (offset === undefined) return false;
  diags.error(
    positionAt(source, offset),
    `YAML: nested more than ${MAX_NESTING_DEPTH} levels deep`,
    'policy and config files need only a few levels of nesting',
  );
  return true;
}

/** Where the first collection deeper than `limit` starts; iterative, so depth cannot overflow the stack. */
function offsetDeeperThan(root: unknown, limit: number): number | undefined {
  const pending: [unknown, number][] = [[root, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [node, depth] = next;
    if (!isCollection(node)) continue;
    if (depth > limit) return rangeStart(node) ?? 0;
    for (const item of node.items) {
      if (isPair(item)) pending.push([item.key, depth + 1], [item.value, depth + 1]);
      else pending.push([item, depth + 1]);
    }
  }
  return undefined;
}

/** The plain JavaScript value of a parsed document, with alias expansion bounded. */
export function toPlainValue(source: YamlSource, diags: DiagnosticList): unknown {
  try {
    return source.doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    // yaml throws on alias bombs and anchors it cannot resolve; both are input errors.
    diags.error({ file: source.file, line: 0, col: 0 }, `YAML: ${firstLine(String((err as Error).message))}`);
    return undefined;
  }
}

export function positionAt(source: YamlSource, offset: number): SourcePosition {
  const { line, col } = source.lineCounter.linePos(offset);
  return { file: source.file, line, col };
}

/**
 * Where the value at `path` (or its key, with `at: 'key'`) starts. Falls back to
 * the deepest existing parent when the path does not exist (a missing key is
 * reported where it should have been).
 */
export function positionOf(
  source: YamlSource,
  path: readonly PathSegment[],
  at: 'key' | 'value' = 'value',
): SourcePosition {
  let node: unknown = source.doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (const [i, segment] of path.entries()) {
    const isLast = i === path.length - 1;
    if (isMap(node)) {
      // The last pair, as in the value: with a duplicate key the later one wins.
      const pair = node.items.findLast(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment),
      );
      if (!pair) break;
      if (isLast && at === 'key') return positionAt(source, rangeStart(pair.key) ?? offset);
      node = pair.value;
      // A key with no value (`tables:`) has no node of its own: point at the key.
      offset = rangeStart(node) ?? rangeStart(pair.key) ?? offset;
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment];
      offset = rangeStart(node) ?? offset;
      if (node === undefined) break;
    } else {
      break;
    }
  }
  return positionAt(source, offset);
}

/** Index of the first item equal to `value` in the list at `path`; -1 when absent. */
export function indexOfScalar(source: YamlSource, path: readonly PathSegment[], value: unknown): number {
  const node = source.doc.getIn(path, true);
  return isSeq(node) ? node.items.findIndex((item) => isScalar(item) && item.value === value) : -1;
}

function rangeStart(node: unknown): number | undefined {
  return node && typeof node === 'object' && 'range' in node ? (node as Node).range?.[0] : undefined;
}

function quoteKeyAt(text: string, offset: number): string {
  const raw = /^[^:\n]*/.exec(text.slice(offset))?.[0]?.trim() ?? '';
  // `"t"` and `'t'` name the same key as `t`: show it once quoted, not twice.
  const key = /^(["'])(.*)\1$/.exec(raw)?.[2] ?? raw;
  return key ? `"${key}"` : '';
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}
