/**
 * Names of the Kubernetes Secrets dbwarden writes, and the Kubernetes name
 * rules config validation checks them against. Pure: no client, no I/O.
 */

/** `credentials.kubernetes.secretName` when the config leaves it out. */
export const DEFAULT_SECRET_NAME_PATTERN = '{app}-db-{component}';

/** What a pattern may hold: the characters of a Secret name and the two placeholders. */
export const SECRET_NAME_PATTERN_SYNTAX = /^(?:[a-z0-9.-]|\{app\}|\{component\})+$/;

/** A namespace name: an RFC 1123 label. */
export const NAMESPACE_NAME = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;
export const NAMESPACE_MAX_LENGTH = 63;

/** An RFC 1123 subdomain, as Kubernetes checks object names such as a Secret's. */
const DNS1123_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
export const DNS1123_SUBDOMAIN_MAX_LENGTH = 253;

/** The Secret name of one component: `{app}` and `{component}` replaced. */
export function renderSecretName(pattern: string, app: string, component: string): string {
  return pattern.replaceAll('{app}', app).replaceAll('{component}', component);
}

/** Why `name` cannot name a Secret, or undefined when it can. */
export function secretNameProblem(name: string): string | undefined {
  if (name.length > DNS1123_SUBDOMAIN_MAX_LENGTH) {
    return `is ${name.length} characters long; Kubernetes allows ${DNS1123_SUBDOMAIN_MAX_LENGTH}`;
  }
  if (DNS1123_SUBDOMAIN.test(name)) return undefined;
  const bad = /[^a-z0-9.-]/.exec(name)?.[0];
  if (bad !== undefined) {
    return `contains ${JSON.stringify(bad)}: a Kubernetes name (RFC 1123 subdomain) has only lowercase letters, digits, "-" and "."`;
  }
  return 'is not a Kubernetes name (RFC 1123 subdomain): each "."-separated part must start and end with a lowercase letter or digit';
}
