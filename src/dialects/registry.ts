import { NotAvailableError } from '../errors.js';
import type { EngineName } from '../policy/model.js';
import type { Dialect } from './dialect.js';
import { postgresDialect } from './postgres/index.js';

const DIALECTS: Readonly<Partial<Record<EngineName, Dialect>>> = {
  postgres: postgresDialect,
};

export function dialectFor(engine: EngineName, target: string): Dialect {
  const dialect = DIALECTS[engine];
  if (!dialect) {
    throw new NotAvailableError(`target ${target}: engine "${engine}" is not supported by this version yet`, {
      hint: 'this version manages PostgreSQL targets only',
    });
  }
  return dialect;
}
