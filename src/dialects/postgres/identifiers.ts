import type { IdentifierRules } from '../identifier-rules.js';

/** NAMEDATALEN - 1: PostgreSQL silently truncates longer names, which would grant on the wrong object. */
const MAX_NAME_BYTES = 63;

function lengthProblem(name: string): string | undefined {
  const bytes = Buffer.byteLength(name, 'utf8');
  return bytes > MAX_NAME_BYTES
    ? `is ${bytes} bytes in UTF-8; PostgreSQL names hold at most ${MAX_NAME_BYTES} bytes`
    : undefined;
}

export const postgresIdentifierRules: IdentifierRules = {
  engine: 'postgres',
  label: 'PostgreSQL',
  objectNameProblem: lengthProblem,
  roleNameProblem: lengthProblem,
};
