/**
 * A last guard on everything the demo prints: dbwarden never prints passwords, keys or stored
 * secrets, and neither does the demo, but if either ever did, the known values are replaced here.
 */
export class Redactor {
  private readonly secrets = new Set<string>();

  /** Remembers a value (and its URL-encoded form) that must never be printed. */
  add(...values: string[]): void {
    for (const value of values) {
      if (value.length < 6) continue; // too short to be a secret, and would mangle ordinary words
      this.secrets.add(value);
      this.secrets.add(encodeURIComponent(value));
    }
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) if (out.includes(secret)) out = out.split(secret).join('<redacted>');
    // Any user:password@ in a URL, whoever's it is.
    return out.replace(/(\w[\w+.-]*:\/\/[^/@\s:]*):[^@\s/]+@/g, '$1:<redacted>@');
  }
}
