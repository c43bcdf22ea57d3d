/** Engine-independent checks on names that reach SQL, and the names dbwarden derives. */

/**
 * App, component and database-kind names: lowercase words that become part of role names and
 * credential file names, so they need no quoting and cannot leave a directory. NAME_SOURCE is
 * for the file-name patterns built around it (credential files, pending and temporary files).
 */
export const NAME_SOURCE = '[a-z][a-z0-9_]*';
export const NAME_PATTERN = new RegExp(`^${NAME_SOURCE}$`);

/**
 * Control characters, NUL and invisible formatting characters (zero-width,
 * bidi overrides): no engine should hold them, and they would make a plan
 * read differently from what it does.
 */
const INVISIBLE_OR_CONTROL = /[\p{Cc}\p{Cf}]/u;

export function invisibleCharacterProblem(name: string): string | undefined {
  const found = INVISIBLE_OR_CONTROL.exec(name);
  if (!found) return undefined;
  const code = found[0].codePointAt(0) ?? 0;
  return `contains the control or invisible character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The NOLOGIN role that holds a component's grants. */
export function grantRoleName(app: string, component: string): string {
  return `${app}_${component}_role`;
}

/** The login a component's processes connect as; a member of its grant role. */
export function loginName(app: string, component: string): string {
  return `${app}_${component}`;
}

/** Whether a name is a grant role by the rule above (validation keeps component names from ending in _role). */
export function isGrantRoleName(name: string): boolean {
  return name.endsWith('_role');
}
