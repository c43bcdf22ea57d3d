/**
 * A small renderer for the part of Go's text/template language, and of Helm's and Sprig's
 * functions, that charts/dbwarden uses, so the chart can be rendered and checked where no `helm`
 * binary exists (this machine). It is NOT Helm: it implements only what the chart's templates use,
 * and throws on anything else (an unknown function, `template`, `block`, printing a map), so a
 * template that starts using something new fails here instead of rendering differently.
 *
 * What it does the way Helm does: trim markers and comments; if / else if / else, range (maps in
 * key order, `$i, $v`), with, define / include, variables (`:=` in the enclosing block, `=`);
 * pipelines; `missingkey=zero` (a missing map key is nil and prints as nothing) but a field of nil
 * is an error; numbers from values are float64 (so 1000000 prints as 1e+06, as in Helm: the chart
 * pipes numbers through `int`), integers from `int`, `add`, literals are int64 (bigint here);
 * toYaml and toJson sort map keys; `and` / `or` stop at the first decisive argument.
 */
import { createHash } from 'node:crypto';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

export class TemplateError extends Error {}
/** `fail` and `required`: the chart refused the values. */
export class TemplateFail extends TemplateError {}

type Value = unknown;
type Dict = Record<string, Value>;

// ---------------------------------------------------------------- lexing

type Item = { kind: 'text'; text: string } | { kind: 'action'; body: string; where: string };

/** Splits a template into text and actions, applying `{{-` and `-}}` trim markers. */
function lex(source: string, name: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  let trimNext = false;
  while (pos < source.length) {
    const open = source.indexOf('{{', pos);
    let text = source.slice(pos, open === -1 ? source.length : open);
    if (trimNext) text = text.replace(/^\s+/, '');
    trimNext = false;
    if (open === -1) {
      if (text) items.push({ kind: 'text', text });
      break;
    }
    let start = open + 2;
    if (/^-[ \t\r\n]/.test(source.slice(start, start + 2))) {
      text = text.replace(/\s+$/, '');
      start += 1;
    }
    if (text) items.push({ kind: 'text', text });
    const close = findActionEnd(source, start, name);
    let body = source.slice(start, close);
    if (/[ \t\r\n]-$/.test(body)) {
      body = body.slice(0, -1);
      trimNext = true;
    }
    const line = source.slice(0, open).split('\n').length;
    items.push({ kind: 'action', body: body.trim(), where: `${name}:${line}` });
    pos = close + 2;
  }
  return items;
}

/** The position of the `}}` that closes an action, skipping strings and comments. */
function findActionEnd(source: string, from: number, name: string): number {
  let i = from;
  while (i < source.length) {
    const c = source[i];
    if (source.startsWith('/*', i)) {
      const end = source.indexOf('*/', i + 2);
      if (end === -1) throw new TemplateError(`${name}: unclosed comment`);
      i = end + 2;
    } else if (c === '"' || c === '`') {
      let j = i + 1;
      while (j < source.length && source[j] !== c) j += c === '"' && source[j] === '\\' ? 2 : 1;
      i = j + 1;
    } else if (source.startsWith('}}', i)) {
      return i;
    } else {
      i++;
    }
  }
  throw new TemplateError(`${name}: unclosed action`);
}

// ---------------------------------------------------------------- action tokens and pipelines

type Operand =
  | { k: 'field'; path: string[] }
  | { k: 'var'; name: string; path: string[] }
  | { k: 'lit'; value: Value }
  | { k: 'ident'; name: string }
  | { k: 'pipe'; pipe: Pipeline; path: string[] };
interface Pipeline {
  decl?: { names: string[]; op: ':=' | '=' };
  cmds: Operand[][];
}

type Token = { t: 'punct'; v: string } | { t: 'operand'; v: Operand };

const FIELD_CHAIN = /^(?:\.[A-Za-z_][A-Za-z0-9_]*)+/;

function tokenize(body: string, where: string): Token[] {
  const tokens: Token[] = [];
  let s = body;
  const fields = (chain: string) => chain.split('.').filter(Boolean);
  while (s.length > 0) {
    const ws = /^\s+/.exec(s);
    if (ws) {
      s = s.slice(ws[0].length);
      continue;
    }
    let m: RegExpExecArray | null;
    if (s.startsWith(':=')) {
      tokens.push({ t: 'punct', v: ':=' });
      s = s.slice(2);
    } else if ('()|,='.includes(s.charAt(0))) {
      const v = s.charAt(0);
      s = s.slice(1);
      if (v === ')' && (m = FIELD_CHAIN.exec(s))) {
        // (pipeline).Field: the chain belongs to the parenthesized pipeline.
        tokens.push({ t: 'punct', v: ')' }, { t: 'punct', v: `.chain${m[0]}` });
        s = s.slice(m[0].length);
      } else {
        tokens.push({ t: 'punct', v });
      }
    } else if ((m = /^"(?:[^"\\]|\\.)*"/.exec(s))) {
      tokens.push({ t: 'operand', v: { k: 'lit', value: JSON.parse(m[0]) as string } });
      s = s.slice(m[0].length);
    } else if ((m = /^`[^`]*`/.exec(s))) {
      tokens.push({ t: 'operand', v: { k: 'lit', value: m[0].slice(1, -1) } });
      s = s.slice(m[0].length);
    } else if ((m = /^-?\d+(\.\d+)?(?![A-Za-z_])/.exec(s))) {
      const value = m[1] ? Number(m[0]) : BigInt(m[0]);
      tokens.push({ t: 'operand', v: { k: 'lit', value } });
      s = s.slice(m[0].length);
    } else if ((m = /^\$[A-Za-z0-9_]*/.exec(s))) {
      s = s.slice(m[0].length);
      const chain = FIELD_CHAIN.exec(s)?.[0] ?? '';
      s = s.slice(chain.length);
      tokens.push({ t: 'operand', v: { k: 'var', name: m[0], path: fields(chain) } });
    } else if ((m = FIELD_CHAIN.exec(s))) {
      tokens.push({ t: 'operand', v: { k: 'field', path: fields(m[0]) } });
      s = s.slice(m[0].length);
    } else if (s.startsWith('.')) {
      tokens.push({ t: 'operand', v: { k: 'field', path: [] } });
      s = s.slice(1);
    } else if ((m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s))) {
      const word = m[0];
      const literal = { true: true, false: false, nil: null } as Record<string, Value>;
      const v: Operand = Object.hasOwn(literal, word)
        ? { k: 'lit', value: literal[word] }
        : { k: 'ident', name: word };
      tokens.push({ t: 'operand', v });
      s = s.slice(word.length);
    } else {
      throw new TemplateError(`${where}: cannot read ${JSON.stringify(s.slice(0, 20))}`);
    }
  }
  return tokens;
}

function parsePipeline(tokens: Token[], where: string): Pipeline {
  let pos = 0;
  const pipe: Pipeline = { cmds: [] };
  // Declarations: $x := ..., $x = ..., $k, $v := ... (range)
  const names: string[] = [];
  let look = 0;
  while (look < tokens.length) {
    const tok = tokens[look];
    if (tok?.t !== 'operand' || tok.v.k !== 'var' || tok.v.path.length > 0) break;
    names.push(tok.v.name);
    const next = tokens[look + 1];
    if (next?.t === 'punct' && next.v === ',') {
      look += 2;
      continue;
    }
    if (next?.t === 'punct' && (next.v === ':=' || next.v === '=')) {
      pipe.decl = { names, op: next.v };
      pos = look + 2;
    }
    break;
  }

  const parseCommands = (end: string | undefined): Operand[][] => {
    const cmds: Operand[][] = [[]];
    while (pos < tokens.length) {
      const tok = tokens[pos];
      if (tok === undefined) break;
      if (tok.t === 'punct') {
        if (tok.v === end) return cmds;
        if (tok.v === '|') {
          cmds.push([]);
          pos++;
          continue;
        }
        if (tok.v === '(') {
          pos++;
          const inner: Pipeline = { cmds: parseCommands(')') };
          pos++; // the ')'
          let path: string[] = [];
          const chain = tokens[pos];
          if (chain?.t === 'punct' && chain.v.startsWith('.chain')) {
            path = chain.v.slice('.chain'.length).split('.').filter(Boolean);
            pos++;
          }
          cmds.at(-1)?.push({ k: 'pipe', pipe: inner, path });
          continue;
        }
        throw new TemplateError(`${where}: unexpected ${JSON.stringify(tok.v)}`);
      }
      cmds.at(-1)?.push(tok.v);
      pos++;
    }
    if (end !== undefined) throw new TemplateError(`${where}: missing ${JSON.stringify(end)}`);
    return cmds;
  };
  pipe.cmds = parseCommands(undefined);
  if (pipe.cmds.some((c) => c.length === 0)) throw new TemplateError(`${where}: empty command`);
  return pipe;
}

// ---------------------------------------------------------------- tree

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'output'; pipe: Pipeline; where: string }
  | { kind: 'if'; branches: { pipe: Pipeline; body: Node[] }[]; otherwise: Node[]; where: string }
  | { kind: 'range'; pipe: Pipeline; body: Node[]; otherwise: Node[]; where: string }
  | { kind: 'with'; pipe: Pipeline; body: Node[]; otherwise: Node[]; where: string };

/** A set of templates: every file's `define`s are visible to every other file, as in Helm. */
export class TemplateSet {
  private readonly defines = new Map<string, Node[]>();
  private readonly files = new Map<string, Node[]>();

  add(name: string, source: string): void {
    const items = lex(source, name);
    let pos = 0;
    const keyword = (body: string) => /^([a-z]+)\b\s*(.*)$/s.exec(body) ?? ['', '', ''];

    const parseList = (stops: string[]): { nodes: Node[]; stop: string; rest: string; where: string } => {
      const nodes: Node[] = [];
      while (pos < items.length) {
        const item = items[pos++];
        if (item === undefined) break;
        if (item.kind === 'text') {
          nodes.push({ kind: 'text', text: item.text });
          continue;
        }
        const { body, where } = item;
        if (body.startsWith('/*')) {
          if (!body.endsWith('*/')) throw new TemplateError(`${where}: a comment must fill its action`);
          continue;
        }
        const [, word = '', rest = ''] = keyword(body);
        if (stops.includes(word)) return { nodes, stop: word, rest, where };
        const pipeOf = (text: string) => parsePipeline(tokenize(text, where), where);
        switch (word) {
          case 'if': {
            const branches = [{ pipe: pipeOf(rest), body: [] as Node[] }];
            let otherwise: Node[] = [];
            for (;;) {
              const part = parseList(['else', 'end']);
              const last = branches.at(-1);
              if (last) last.body = part.nodes;
              if (part.stop === 'end') break;
              const [, elseWord = '', elseRest = ''] = keyword(part.rest);
              if (elseWord === 'if') {
                branches.push({ pipe: pipeOf(elseRest), body: [] });
                continue;
              }
              if (part.rest !== '') throw new TemplateError(`${part.where}: only "else if" is supported`);
              otherwise = parseList(['end']).nodes;
              break;
            }
            nodes.push({ kind: 'if', branches, otherwise, where });
            break;
          }
          case 'range':
          case 'with': {
            const first = parseList(['else', 'end']);
            let otherwise: Node[] = [];
            if (first.stop === 'else') {
              if (first.rest !== '')
                throw new TemplateError(`${first.where}: only a plain else is supported`);
              otherwise = parseList(['end']).nodes;
            }
            nodes.push({
              kind: word as 'range' | 'with',
              pipe: pipeOf(rest),
              body: first.nodes,
              otherwise,
              where,
            });
            break;
          }
          case 'define': {
            const defName = JSON.parse(rest) as string;
            this.defines.set(defName, parseList(['end']).nodes);
            break;
          }
          case 'else':
          case 'end':
            throw new TemplateError(`${where}: unexpected ${word}`);
          case 'template':
          case 'block':
          case 'break':
          case 'continue':
            throw new TemplateError(`${where}: "${word}" is not supported by this renderer`);
          default:
            nodes.push({ kind: 'output', pipe: pipeOf(body), where });
        }
      }
      if (stops.length > 0) throw new TemplateError(`${name}: missing {{ end }}`);
      return { nodes, stop: '', rest: '', where: name };
    };
    this.files.set(name, parseList([]).nodes);
  }

  render(name: string, data: Value): string {
    const nodes = this.files.get(name);
    if (!nodes) throw new TemplateError(`no template ${name}`);
    return new Exec(this.defines, data).run(nodes, data, [new Map()]);
  }
}

// ---------------------------------------------------------------- values

const isDict = (v: Value): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Go's `truth`: empty strings, lists and maps, zero, false and nil are false. */
function truth(v: Value): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'bigint') return v !== 0n;
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (isDict(v)) return Object.keys(v).length > 0;
  return true;
}

/** Go's %v for float64 (strconv 'g', shortest): exponent form from 1e+06 and below 1e-04. */
export function goFloat(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  if (n === 0) return '0';
  const exp = Math.floor(Math.log10(Math.abs(n)));
  if (exp < -4 || exp >= 21 || Math.abs(n) >= 1e6) {
    const [mantissa = '', e = '0'] = n.toExponential().split('e');
    const ev = Number(e);
    return `${mantissa}e${ev < 0 ? '-' : '+'}${String(Math.abs(ev)).padStart(2, '0')}`;
  }
  return String(n);
}

/** What `{{ value }}` prints. nil prints nothing (Helm removes "<no value>"). */
function print(v: Value, where: string): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return goFloat(v);
  if (typeof v === 'boolean') return String(v);
  throw new TemplateError(`${where}: printing a list or map is not emulated; use toYaml or toJson`);
}

/** Sprig's strval. */
const strval = (v: Value, where: string): string => (typeof v === 'string' ? v : print(v, where));

/** Go's %q for the printable ASCII strings the chart quotes. */
function goQuote(s: string, where: string): string {
  if (!/^[\x20-\x7e]*$/.test(s)) throw new TemplateError(`${where}: quoting non-ASCII text is not emulated`);
  return JSON.stringify(s);
}

function toInt(v: Value, where: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (v === null || v === undefined) return 0n;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  throw new TemplateError(`${where}: cannot convert ${typeof v} to int`);
}

/** Plain data for YAML and JSON output: bigints become numbers, map keys sorted (as Go does). */
function plain(v: Value): Value {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(plain);
  if (isDict(v)) {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, plain(v[k])]),
    );
  }
  return v;
}

function goprintf(format: string, args: Value[], where: string): string {
  let i = 0;
  return format.replace(/%([%sdvq])/g, (_, verb: string) => {
    if (verb === '%') return '%';
    const arg = args[i++];
    switch (verb) {
      case 's':
        if (typeof arg !== 'string') throw new TemplateError(`${where}: printf %s of a non-string`);
        return arg;
      case 'd':
        return toInt(arg, where).toString();
      case 'q':
        return goQuote(strval(arg, where), where);
      default:
        return print(arg, where);
    }
  });
}

function compare(a: Value, b: Value, where: string): boolean {
  const basic = (v: Value) => ['string', 'number', 'bigint', 'boolean'].includes(typeof v);
  if (!basic(a) || !basic(b) || typeof a !== typeof b) {
    throw new TemplateError(`${where}: incompatible types for comparison`);
  }
  return a === b;
}

// ---------------------------------------------------------------- execution

type Scope = Map<string, Value>[];

class Exec {
  constructor(
    private readonly defines: Map<string, Node[]>,
    private readonly root: Value,
    private readonly depth = 0,
  ) {}

  run(nodes: Node[], dot: Value, scope: Scope): string {
    let out = '';
    for (const node of nodes) {
      switch (node.kind) {
        case 'text':
          out += node.text;
          break;
        case 'output': {
          const v = this.pipeline(node.pipe, dot, scope, node.where);
          if (!node.pipe.decl) out += print(v, node.where);
          break;
        }
        case 'if': {
          const inner: Scope = [...scope, new Map()];
          const branch = node.branches.find((b) => truth(this.pipeline(b.pipe, dot, inner, node.where)));
          out += this.run(branch ? branch.body : node.otherwise, dot, inner);
          break;
        }
        case 'with': {
          const inner: Scope = [...scope, new Map()];
          const v = this.pipeline(node.pipe, dot, inner, node.where);
          out += truth(v) ? this.run(node.body, v, inner) : this.run(node.otherwise, dot, inner);
          break;
        }
        case 'range': {
          const names = node.pipe.decl?.names ?? [];
          const v = this.pipeline({ cmds: node.pipe.cmds }, dot, scope, node.where);
          let entries: [Value, Value][];
          if (v === null || v === undefined) entries = [];
          else if (Array.isArray(v)) entries = v.map((e, i) => [BigInt(i), e]);
          else if (isDict(v))
            entries = Object.keys(v)
              .sort()
              .map((k) => [k, v[k]]);
          else throw new TemplateError(`${node.where}: range can't iterate over ${typeof v}`);
          if (entries.length === 0) out += this.run(node.otherwise, dot, [...scope, new Map()]);
          for (const [key, elem] of entries) {
            const vars = new Map<string, Value>();
            if (names.length === 1 && names[0]) vars.set(names[0], elem);
            if (names.length === 2 && names[0] && names[1]) vars.set(names[0], key).set(names[1], elem);
            out += this.run(node.body, elem, [...scope, vars]);
          }
          break;
        }
      }
    }
    return out;
  }

  private pipeline(pipe: Pipeline, dot: Value, scope: Scope, where: string): Value {
    let value: Value = undefined;
    pipe.cmds.forEach((cmd, i) => {
      value = this.command(cmd, dot, scope, where, i === 0 ? [] : [value]);
    });
    if (pipe.decl) {
      const [name] = pipe.decl.names;
      if (pipe.decl.names.length !== 1 || name === undefined) {
        throw new TemplateError(`${where}: only range declares two variables`);
      }
      if (pipe.decl.op === ':=') {
        scope.at(-1)?.set(name, value);
      } else {
        const owner = [...scope].reverse().find((s) => s.has(name));
        if (!owner) throw new TemplateError(`${where}: undefined variable ${name}`);
        owner.set(name, value);
      }
    }
    return value;
  }

  private command(cmd: Operand[], dot: Value, scope: Scope, where: string, piped: Value[]): Value {
    const [head, ...rest] = cmd;
    if (head?.k === 'ident') {
      const lazy = rest.map((op) => () => this.operand(op, dot, scope, where));
      return this.call(head.name, [...lazy, ...piped.map((v) => () => v)], where);
    }
    if (head === undefined || rest.length > 0 || piped.length > 0) {
      throw new TemplateError(`${where}: only functions take arguments`);
    }
    return this.operand(head, dot, scope, where);
  }

  private operand(op: Operand, dot: Value, scope: Scope, where: string): Value {
    switch (op.k) {
      case 'lit':
        return op.value;
      case 'ident':
        return this.call(op.name, [], where);
      case 'field':
        return this.fields(dot, op.path, where);
      case 'pipe':
        return this.fields(this.pipeline(op.pipe, dot, scope, where), op.path, where);
      case 'var': {
        if (op.name === '$') return this.fields(this.root, op.path, where);
        const owner = [...scope].reverse().find((s) => s.has(op.name));
        if (!owner) throw new TemplateError(`${where}: undefined variable ${op.name}`);
        return this.fields(owner.get(op.name), op.path, where);
      }
    }
  }

  private fields(value: Value, path: string[], where: string): Value {
    let v = value;
    for (const name of path) {
      if (v === null || v === undefined) throw new TemplateError(`${where}: nil pointer evaluating .${name}`);
      if (!isDict(v)) throw new TemplateError(`${where}: can't evaluate field ${name} in a ${typeof v}`);
      v = Object.hasOwn(v, name) ? v[name] : undefined;
    }
    return v;
  }

  private call(name: string, lazyArgs: (() => Value)[], where: string): Value {
    // and / or evaluate their arguments only as far as needed, as Go does since 1.18.
    if (name === 'and' || name === 'or') {
      let v: Value = undefined;
      for (const arg of lazyArgs) {
        v = arg();
        if (truth(v) === (name === 'or')) return v;
      }
      return v;
    }
    const args = lazyArgs.map((a) => a());
    const str = (i: number): string => {
      const v = args[i];
      if (typeof v !== 'string')
        throw new TemplateError(`${where}: ${name}: argument ${i + 1} is not a string`);
      return v;
    };
    const dict = (i: number): Dict => {
      const v = args[i];
      if (!isDict(v)) throw new TemplateError(`${where}: ${name}: argument ${i + 1} is not a map`);
      return v;
    };
    switch (name) {
      case 'include': {
        const body = this.defines.get(str(0));
        if (!body) throw new TemplateError(`${where}: no template "${str(0)}"`);
        if (this.depth > 100) throw new TemplateError(`${where}: include nested too deeply`);
        return new Exec(this.defines, args[1], this.depth + 1).run(body, args[1], [new Map()]);
      }
      case 'toYaml':
        // Like Helm's (go-yaml v2): sequences in a map are not indented, long lines not folded.
        return stringifyYaml(plain(args[0]), { lineWidth: 0, indentSeq: false }).replace(/\n$/, '');
      case 'toJson':
        return JSON.stringify(plain(args[0]))
          .replace(/</g, '\\u003c')
          .replace(/>/g, '\\u003e')
          .replace(/&/g, '\\u0026');
      case 'fromYaml': {
        try {
          const parsed: Value = parseYaml(str(0)) ?? {};
          return isDict(parsed) ? parsed : { Error: 'cannot unmarshal a non-mapping into a map' };
        } catch (err) {
          return { Error: (err as Error).message };
        }
      }
      case 'indent':
      case 'nindent': {
        const pad = ' '.repeat(Number(toInt(args[0], where)));
        const text = pad + str(1).replace(/\n/g, `\n${pad}`);
        return name === 'nindent' ? `\n${text}` : text;
      }
      case 'quote':
        return args
          .filter((a) => a !== null && a !== undefined)
          .map((a) => goQuote(strval(a, where), where))
          .join(' ');
      case 'default':
        return args.length < 2 || !truth(args[1]) ? args[0] : args[1];
      case 'empty':
        return !truth(args[0]);
      case 'trunc': {
        const n = Number(toInt(args[0], where));
        const s = str(1);
        if (n < 0 && s.length + n > 0) return s.slice(s.length + n);
        return n >= 0 && s.length > n ? s.slice(0, n) : s;
      }
      case 'trimSuffix':
        return str(1).endsWith(str(0)) ? str(1).slice(0, str(1).length - str(0).length) : str(1);
      case 'replace':
        return str(2).split(str(0)).join(str(1));
      case 'contains':
        return str(1).includes(str(0));
      case 'regexMatch':
        return new RegExp(str(0)).test(str(1));
      case 'printf':
        return goprintf(str(0), args.slice(1), where);
      case 'required': {
        const v = args[1];
        if (v === null || v === undefined || v === '') throw new TemplateFail(str(0));
        return v;
      }
      case 'fail':
        throw new TemplateFail(str(0));
      case 'eq':
        return args.slice(1).some((b) => compare(args[0], b, where));
      case 'ne':
        return !compare(args[0], args[1], where);
      case 'lt':
      case 'le':
      case 'gt':
      case 'ge': {
        const [a, b] = args;
        if (typeof a !== typeof b || !['bigint', 'number', 'string'].includes(typeof a)) {
          throw new TemplateError(`${where}: incompatible types for comparison`);
        }
        const [x, y] = [a as number, b as number];
        return { lt: x < y, le: x <= y, gt: x > y, ge: x >= y }[name];
      }
      case 'not':
        return !truth(args[0]);
      case 'list':
        return [...args];
      case 'dict': {
        const d: Dict = {};
        for (let i = 0; i + 1 < args.length; i += 2) d[strval(args[i], where)] = args[i + 1];
        return d;
      }
      case 'set':
        dict(0)[str(1)] = args[2];
        return args[0];
      case 'hasKey':
        return Object.hasOwn(dict(0), str(1));
      case 'append': {
        const list = args[0];
        if (!Array.isArray(list)) throw new TemplateError(`${where}: append to a non-list`);
        return [...(list as Value[]), args[1]];
      }
      case 'index': {
        let v = args[0];
        for (const key of args.slice(1)) {
          if (Array.isArray(v)) {
            const i = Number(toInt(key, where));
            if (i < 0 || i >= v.length) throw new TemplateError(`${where}: index out of range: ${i}`);
            v = v[i] as Value;
          } else if (isDict(v)) {
            v = Object.hasOwn(v, strval(key, where)) ? v[strval(key, where)] : undefined;
          } else {
            throw new TemplateError(`${where}: can't index ${typeof v}`);
          }
        }
        return v;
      }
      case 'kindIs': {
        const v = args[1];
        const kind =
          typeof v === 'string'
            ? 'string'
            : Array.isArray(v)
              ? 'slice'
              : isDict(v)
                ? 'map'
                : typeof v === 'boolean'
                  ? 'bool'
                  : v === null || v === undefined
                    ? 'invalid'
                    : undefined;
        if (kind === undefined) throw new TemplateError(`${where}: kindIs of a number is not emulated`);
        return kind === str(0);
      }
      case 'deepCopy':
        return structuredClone(args[0]);
      case 'sha256sum':
        return createHash('sha256').update(str(0)).digest('hex');
      case 'int':
        return toInt(args[0], where);
      case 'add':
        return args.reduce<bigint>((sum, a) => sum + toInt(a, where), 0n);
      case 'toString':
        return strval(args[0], where);
      default:
        throw new TemplateError(`${where}: function "${name}" is not supported by this renderer`);
    }
  }
}
