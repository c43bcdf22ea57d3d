import type { IdentifierRules } from '../identifier-rules.js';

/** MySQL and MariaDB count characters, not bytes. */
const MAX_OBJECT_NAME_CHARS = 64;
/** MySQL 8 user and role names; MariaDB allows more, so the smaller limit serves both. */
const MAX_USER_NAME_CHARS = 32;

function charCount(name: string): number {
  return [...name].length;
}

function objectNameProblem(name: string): string | undefined {
  const chars = charCount(name);
  if (chars > MAX_OBJECT_NAME_CHARS) {
    return `is ${chars} characters; MySQL/MariaDB names hold at most ${MAX_OBJECT_NAME_CHARS}`;
  }
  if ([...name].some((ch) => (ch.codePointAt(0) ?? 0) > 0xffff)) {
    return 'contains a character outside the Basic Multilingual Plane, which MySQL/MariaDB identifiers cannot hold';
  }
  if (/ $/.test(name)) return 'ends with a space, which MySQL/MariaDB names cannot';
  return undefined;
}

function roleNameProblem(name: string): string | undefined {
  const chars = charCount(name);
  return chars > MAX_USER_NAME_CHARS
    ? `is ${chars} characters; MySQL user and role names hold at most ${MAX_USER_NAME_CHARS}`
    : undefined;
}

export const mysqlIdentifierRules: IdentifierRules = {
  engine: 'mysql',
  label: 'MySQL/MariaDB',
  objectNameProblem,
  roleNameProblem,
};
