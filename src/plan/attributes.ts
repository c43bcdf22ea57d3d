/**
 * Account attributes in words: the text `plan --format json` shows in
 * `clearAttributes` and PostgreSQL's plan intents use. Output only: nothing
 * parses it back (renderers work from the typed AccountAttribute).
 */
import { compareText } from '../util/compare.js';
import type { AccountAttribute } from './types.js';

export function attributeText(a: AccountAttribute): string {
  switch (a.attribute) {
    case 'global-privilege':
      return `global privilege ${a.privilege}`;
    case 'tls-not-required':
      return 'tls not required';
    case 'tls-required':
      return 'tls required';
    case 'max-user-connections':
      return `max user connections ${a.count}`;
    default:
      return a.attribute;
  }
}

/** In the order of their words; repeats dropped. */
export function sortedAttributes(attributes: readonly AccountAttribute[]): AccountAttribute[] {
  const byText = new Map(attributes.map((a) => [attributeText(a), a] as const));
  return [...byText].sort(([x], [y]) => compareText(x, y)).map(([, a]) => a);
}
