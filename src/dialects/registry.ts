import type { EngineName } from '../policy/model.js';
import type { Dialect } from './dialect.js';
import { mysqlDialect } from './mysql/index.js';
import { postgresDialect } from './postgres/index.js';

/** The one place that maps an engine to the module that owns everything engine-specific. */
const DIALECTS: Readonly<Record<EngineName, Dialect>> = {
  postgres: postgresDialect,
  mysql: mysqlDialect,
};

export function dialectFor(engine: EngineName): Dialect {
  return DIALECTS[engine];
}
