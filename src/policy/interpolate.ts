/**
 * `${VAR}` and `${VAR:-default}` in config values, replaced from the
 * environment. `$$` stands for a literal `$`. Runs on the YAML document so a
 * missing variable is reported at its file:line:col.
 */
import { isScalar, visit } from 'yaml';
import type { Environment } from '../util/environment.js';
import type { DiagnosticList, SourcePosition } from './diagnostics.js';
import { positionAt, type YamlSource } from './yaml-source.js';

// Known from here too: the config reads its ${VAR} references from it.
export type { Environment } from '../util/environment.js';

const REFERENCE = /\$\$|\$\{([^}]*)\}|\$\{/g;
const VARIABLE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

/** A value that took the empty value of a variable that is set: said where the value is refused. */
export interface EmptyVariable {
  readonly at: SourcePosition;
  readonly name: string;
}

/**
 * Replaces every reference in the document's values. Returns the variables
 * that are set but empty, with the place of the value that used them: a check
 * that refuses such a value names the variable instead of the empty result.
 */
export function interpolateEnvironment(
  source: YamlSource,
  env: Environment,
  diags: DiagnosticList,
): EmptyVariable[] {
  const empty: EmptyVariable[] = [];
  visit(source.doc, {
    Scalar(key, node) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('$')) return;
      const at = positionAt(source, node.range?.[0] ?? 0);
      node.value = substitute(node.value, env, (message, hint) => diags.error(at, message, hint), {
        onEmpty: (name) => empty.push({ at, name }),
      });
    },
    Pair(_key, pair) {
      // Keys are never interpolated: they are the config's own vocabulary.
      if (isScalar(pair.key) && typeof pair.key.value === 'string' && pair.key.value.includes('${')) {
        diags.error(
          positionAt(source, pair.key.range?.[0] ?? 0),
          'environment references are allowed in values only, not in keys',
        );
      }
    },
  });
  return empty;
}

/** Replaces every reference in `text`; problems are reported, never thrown. */
export function substitute(
  text: string,
  env: Environment,
  report: (message: string, hint?: string) => void,
  notice: { readonly onEmpty?: (name: string) => void } = {},
): string {
  return text.replace(REFERENCE, (match, body: string | undefined) => {
    if (match === '$$') return '$';
    if (body === undefined) {
      report('unterminated "${": expected ${NAME} or ${NAME:-default}', 'write $$ for a literal $');
      return match;
    }
    const parsed = VARIABLE.exec(body);
    if (!parsed) {
      // Not echoed: the reference may hold a default URL with a password in it.
      report(
        'invalid environment reference: expected ${NAME} or ${NAME:-default}',
        'NAME is letters, digits and _, not starting with a digit; write $$ for a literal $',
      );
      return match;
    }
    const [, name = '', fallback] = parsed;
    // Own variables only: `${constructor}` is not Object.prototype.constructor.
    const value = Object.hasOwn(env, name) ? env[name] : undefined;
    // As in the shell, `:-` also replaces a variable that is set but empty.
    if (value === '' && fallback === undefined) notice.onEmpty?.(name);
    if (value !== undefined && (value !== '' || fallback === undefined)) return value;
    if (fallback !== undefined) return fallback;
    report(
      `environment variable ${name} is not set`,
      `set ${name}, or give a default with \${${name}:-default}`,
    );
    return '';
  });
}
