import type { EngineName } from '../policy/model.js';

/** What an engine can hold as a name. Each dialect module provides one. */
export interface IdentifierRules {
  readonly engine: EngineName;
  /** For messages: "PostgreSQL", "MySQL/MariaDB". */
  readonly label: string;
  /** Why a table, column or schema name cannot exist on this engine; undefined when it can. */
  objectNameProblem(name: string): string | undefined;
  /** Why a role or login name cannot exist on this engine; undefined when it can. */
  roleNameProblem(name: string): string | undefined;
}
