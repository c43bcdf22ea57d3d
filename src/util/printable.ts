/**
 * Control and invisible characters quoted from input or a catalog (C1
 * controls, bidi overrides, zero-width spaces) escaped as \uXXXX: a message
 * names them without letting them reorder or recolour the terminal it is printed on.
 */
export function printable(text: string): string {
  return text.replace(/[\p{Cc}\p{Cf}]/gu, (ch) => {
    const hex = (ch.codePointAt(0) ?? 0).toString(16).padStart(4, '0');
    return hex.length > 4 ? `\\u{${hex}}` : `\\u${hex}`;
  });
}

/**
 * A database object's name for people: bare when it is a plain word, else in
 * double quotes with quotes doubled (as SQL writes it), so `a b` and `x"; --`
 * read as one name and never as part of the sentence around them.
 */
export function displayName(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_$]*$/.test(name) ? name : printable(`"${name.replaceAll('"', '""')}"`);
}

/** `1 table`, `2 tables`. */
export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}
