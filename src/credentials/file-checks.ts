/**
 * What the credential directory trusts (docs/config.md, "What dbwarden
 * refuses"): anyone who can write the directory or a file in it could plant
 * credentials, so a directory or file that someone other than the running
 * user could have written is refused rather than read. Pure: the callers
 * stat, these decide.
 */
import { NAME_SOURCE } from '../policy/names.js';

/** The fields of fs.Stats these checks look at. */
export interface OwnerAndMode {
  readonly uid: number;
  readonly mode: number;
  isDirectory(): boolean;
  isFile(): boolean;
}

/** Group and others may not write: they could plant or replace credentials. */
const WRITE_BY_OTHERS = 0o022;
/** Group and others may not read a file: it holds a password. */
const READ_BY_OTHERS = 0o044;

/**
 * Temporary files dbwarden writes before renaming them into place:
 * `.<component>.json.<12 hex>.tmp` and `.<component>.json.pending.<12 hex>.tmp`.
 * Earlier versions named the pending one `..<component>.json.pending.<hex>.tmp`
 * (a doubled dot): also dbwarden's, also removed.
 */
export const TEMP_FILE = new RegExp(`^\\.\\.?${NAME_SOURCE}\\.json(?:\\.pending)?\\.[0-9a-f]{12}\\.tmp$`);

/** The temporary name for writing `finalName` (`scheduler.json` or `.scheduler.json.pending`). */
export function tempName(finalName: string, random: string): string {
  return `.${finalName.replace(/^\./, '')}.${random}.tmp`;
}

/** Why the credentials directory cannot be trusted, or undefined when it can. */
export function directoryProblem(stat: OwnerAndMode, uid: number): string | undefined {
  if (!stat.isDirectory()) return 'is not a directory';
  if (stat.uid !== uid) return `is owned by uid ${stat.uid}, not by the user running dbwarden (uid ${uid})`;
  const mode = stat.mode & 0o7777;
  if ((mode & WRITE_BY_OTHERS) !== 0) return `is writable by group or others (mode ${octal(mode)})`;
  return undefined;
}

/**
 * Why a credential file cannot be trusted ('refuse'), or that it only needs
 * its mode tightened ('tighten': readable by others, otherwise sound).
 */
export function fileProblem(
  stat: OwnerAndMode,
  uid: number,
): { readonly action: 'refuse' | 'tighten'; readonly problem: string } | undefined {
  if (!stat.isFile()) return { action: 'refuse', problem: 'is not a regular file' };
  if (stat.uid !== uid) {
    return {
      action: 'refuse',
      problem: `is owned by uid ${stat.uid}, not by the user running dbwarden (uid ${uid})`,
    };
  }
  const mode = stat.mode & 0o7777;
  if ((mode & WRITE_BY_OTHERS) !== 0) {
    return { action: 'refuse', problem: `is writable by group or others (mode ${octal(mode)})` };
  }
  if ((mode & READ_BY_OTHERS) !== 0) {
    return { action: 'tighten', problem: `was readable by group or others (mode ${octal(mode)})` };
  }
  return undefined;
}

export function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}
