/** Engine-independent checks on names that reach SQL, and the names dbwarden derives. */

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
