/**
 * The few Kubernetes Secret calls the credential sink makes (get, create,
 * patch of one named Secret), over `@kubernetes/client-node`, and the typed
 * error every failure becomes.
 *
 * The client is imported on first use only (it takes most of a second to
 * load), so commands that write no Secret never pay for it.
 *
 * Nothing here copies a response body, a request body or a client error
 * message into a message: the client's ApiException message embeds the
 * response body and headers, and a JSON parse error quotes its input.
 * Messages carry the HTTP status, the Status `reason`, a system error code,
 * the Secret's namespace and name, and the API server's address.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type * as K8s from '@kubernetes/client-node';
import { DbwardenError, ExitCode, InvalidInputError } from '../errors.js';
import { NAMESPACE_MAX_LENGTH, NAMESPACE_NAME } from '../policy/secret-name.js';

/** Where Kubernetes mounts a pod's service account. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The parts of a Secret dbwarden reads and writes; `data` values are base64. */
export interface SecretObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
  };
  type?: string;
  data?: Record<string, string>;
}

/** A strategic merge patch of a Secret: a null value removes the key. */
export interface SecretPatch {
  metadata?: {
    labels?: Record<string, string | null>;
    annotations?: Record<string, string | null>;
  };
  data?: Record<string, string | null>;
}

/** What KubernetesSecretStore needs from the API server. */
export interface SecretApi {
  /** Where the API server is, for messages (no credentials in it). */
  describeServer(): Promise<string>;
  /** The Secret, or undefined when it does not exist. */
  get(namespace: string, name: string): Promise<SecretObject | undefined>;
  /** Creates the Secret; false when one of that name already exists (HTTP 409). */
  create(namespace: string, secret: SecretObject): Promise<boolean>;
  /** Applies a strategic merge patch; false when the Secret does not exist (HTTP 404). */
  patch(namespace: string, name: string, patch: SecretPatch): Promise<boolean>;
}

export type SecretVerb = 'get' | 'create' | 'patch';

/** A Secret that could not be read or written. Names the namespace and Secret, never its data. */
export class KubernetesSecretError extends DbwardenError {
  override readonly name = 'KubernetesSecretError';
  /** 1 for API failures and damaged Secrets; 2 for pending keys refused as untrusted. */
  readonly exitCode: ExitCode;
  readonly namespace: string | undefined;
  readonly secret: string | undefined;
  /** HTTP status from the API server, when it answered. */
  readonly status: number | undefined;

  constructor(
    message: string,
    options: {
      namespace?: string;
      secret?: string;
      status?: number;
      hint?: string;
      exitCode?: ExitCode;
    } = {},
  ) {
    super(message, { hint: options.hint });
    this.exitCode = options.exitCode ?? ExitCode.runtimeFailure;
    this.namespace = options.namespace;
    this.secret = options.secret;
    this.status = options.status;
  }
}

export interface KubeConfigOptions {
  /** Read this kubeconfig file instead of looking for one (tests, and explicit setups). */
  readonly kubeconfigFile?: string;
  /** Prefix of SERVICE_ACCOUNT_DIR (a test's temporary directory); default none. */
  readonly serviceAccountPrefix?: string;
}

/**
 * The namespace the Secrets go to: the configured one, else the pod's own
 * (from the service account mount), else an error: outside a pod it is required.
 */
export function kubernetesNamespace(
  configured: string | undefined,
  options: Pick<KubeConfigOptions, 'serviceAccountPrefix'> = {},
): string {
  if (configured !== undefined) return configured;
  const file = `${options.serviceAccountPrefix ?? ''}${SERVICE_ACCOUNT_DIR}/namespace`;
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    text = undefined;
  }
  if (text !== undefined && text.length <= NAMESPACE_MAX_LENGTH && NAMESPACE_NAME.test(text)) return text;
  throw new InvalidInputError(
    text === undefined
      ? `credentials.kubernetes.namespace is not set, and dbwarden is not running in a Kubernetes pod (no ${file})`
      : `credentials.kubernetes.namespace is not set, and ${file} does not hold a namespace name`,
    { hint: 'set credentials.kubernetes.namespace to the namespace the Secrets go to' },
  );
}

/**
 * The Secret API over `@kubernetes/client-node`, connected on first use:
 * in a pod (KUBERNETES_SERVICE_HOST set and a service account token mounted)
 * with the pod's service account (`loadFromCluster`); elsewhere from
 * `kubeconfigFile`, or `$KUBECONFIG` / `~/.kube/config` (`loadFromDefault`).
 */
export function kubernetesSecretApi(options: KubeConfigOptions = {}): SecretApi {
  let connected: Promise<Connected> | undefined;
  const connection = () => (connected ??= connect(options));
  return {
    async describeServer() {
      return (await connection()).server;
    },
    async get(namespace, name) {
      const { api, server } = await connection();
      try {
        return (await api.readNamespacedSecret({ name, namespace })) as SecretObject;
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw apiFailure(error, { verb: 'get', namespace, name, server });
      }
    },
    async create(namespace, secret) {
      const { api, server } = await connection();
      const name = secret.metadata?.name ?? '';
      try {
        await api.createNamespacedSecret({ namespace, body: secret });
        return true;
      } catch (error) {
        if (statusOf(error) === 409) return false;
        throw apiFailure(error, { verb: 'create', namespace, name, server });
      }
    },
    async patch(namespace, name, patch) {
      const { api, server, strategicMerge } = await connection();
      try {
        await api.patchNamespacedSecret({ name, namespace, body: patch }, strategicMerge);
        return true;
      } catch (error) {
        if (statusOf(error) === 404) return false;
        throw apiFailure(error, { verb: 'patch', namespace, name, server });
      }
    },
  };
}

type ClientModule = typeof K8s;

interface Connected {
  readonly api: InstanceType<ClientModule['CoreV1Api']>;
  readonly server: string;
  readonly strategicMerge: ReturnType<ClientModule['setHeaderOptions']>;
}

async function connect(options: KubeConfigOptions): Promise<Connected> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  loadKubeConfig(kc, options);
  const server = kc.getCurrentCluster()?.server ?? 'an unknown API server';
  return {
    api: kc.makeApiClient(k8s.CoreV1Api),
    server,
    strategicMerge: k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
  };
}

/** Fills `kc` from the pod's service account, or a kubeconfig file; see kubernetesSecretApi. */
export function loadKubeConfig(kc: K8s.KubeConfig, options: KubeConfigOptions = {}): void {
  const env = process.env;
  const prefix = options.serviceAccountPrefix ?? '';
  const inPod =
    options.kubeconfigFile === undefined &&
    Boolean(env.KUBERNETES_SERVICE_HOST) &&
    Boolean(env.KUBERNETES_SERVICE_PORT) &&
    existsSync(`${prefix}${SERVICE_ACCOUNT_DIR}/token`);
  if (inPod) {
    // The service account token file, the cluster CA, and KUBERNETES_SERVICE_HOST/PORT.
    kc.loadFromCluster(prefix);
    return;
  }
  const file =
    options.kubeconfigFile ??
    env.KUBECONFIG?.split(path.delimiter).find((f) => f !== '') ??
    path.join(os.homedir(), '.kube', 'config');
  if (options.kubeconfigFile === undefined && !env.KUBECONFIG && !existsSync(file)) {
    throw new KubernetesSecretError(
      `no Kubernetes API server to write Secrets to: not running in a pod with a service account token, and no kubeconfig (KUBECONFIG is not set, ${file} does not exist)`,
      {
        hint: 'run dbwarden in the cluster with automountServiceAccountToken, or point KUBECONFIG at a kubeconfig file',
      },
    );
  }
  try {
    if (options.kubeconfigFile !== undefined) kc.loadFromFile(options.kubeconfigFile);
    else kc.loadFromDefault();
  } catch (error) {
    // Never the parser's message: a YAML error quotes the file, which may hold a token.
    const code = systemCode(error);
    throw new KubernetesSecretError(
      `cannot load the kubeconfig ${file}${code === undefined ? ': not a valid kubeconfig file' : ` (${code})`}`,
      { hint: 'check the file named by KUBECONFIG (or ~/.kube/config)' },
    );
  }
  if (kc.getCurrentCluster() === null) {
    throw new KubernetesSecretError(`the kubeconfig ${file} has no current context with a cluster`, {
      hint: 'set current-context in the kubeconfig, or run `kubectl config use-context NAME`',
    });
  }
}

/** The HTTP status of a client ApiException, else undefined. */
function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

function systemCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code) ? code : undefined;
}

/** `reason` and (for 403 only) the user the API server names, from a Status response body. */
function statusDetails(error: unknown): { reason: string | undefined; user: string | undefined } {
  const raw = (error as { body?: unknown }).body;
  let body: unknown = raw;
  if (typeof raw === 'string') {
    try {
      body = JSON.parse(raw);
    } catch {
      body = undefined;
    }
  }
  if (typeof body !== 'object' || body === null) return { reason: undefined, user: undefined };
  const { kind, reason, message } = body as { kind?: unknown; reason?: unknown; message?: unknown };
  if (kind !== 'Status') return { reason: undefined, user: undefined };
  const safeReason = typeof reason === 'string' && /^[A-Za-z]{1,40}$/.test(reason) ? reason : undefined;
  // "secrets "x" is forbidden: User "system:serviceaccount:nova:dbwarden" cannot patch resource ...":
  // the subject is a name, not data; nothing else of the message is kept.
  const user =
    typeof message === 'string' ? /User "([A-Za-z0-9:._@-]{1,200})" cannot/.exec(message)?.[1] : undefined;
  return { reason: safeReason, user };
}

const RBAC_RULES = (namespace: string, name: string) =>
  `a Role in namespace ${namespace} with the rules {apiGroups: [""], resources: ["secrets"], verbs: ["create"]} and {apiGroups: [""], resources: ["secrets"], resourceNames: ["${name}", ...the other components' Secrets], verbs: ["get", "patch"]}, bound to dbwarden's service account`;

/** One call to the Secrets API: what dbwarden asked, of which Secret, on which server. */
export interface SecretCall {
  readonly verb: SecretVerb;
  readonly namespace: string;
  readonly name: string;
  readonly server: string;
}

/** The typed error for a failed call; see the module comment for what it may contain. */
export function apiFailure(error: unknown, call: SecretCall): KubernetesSecretError {
  const status = statusOf(error);
  return status === undefined ? noAnswer(error, call) : httpFailure(error, status, call);
}

/** The API server answered with an HTTP error status: what it means for this call, and what to do. */
function httpFailure(error: unknown, status: number, call: SecretCall): KubernetesSecretError {
  const { reason, user } = statusDetails(error);
  const what = `${status}${reason === undefined ? '' : ` ${reason}`}`;
  const { problem, hint } = explainStatus(status, what, user, call);
  return new KubernetesSecretError(`cannot ${call.verb} Secret ${call.namespace}/${call.name}: ${problem}`, {
    namespace: call.namespace,
    secret: call.name,
    status,
    hint,
  });
}

/** `what` is the status with its reason (`403 Forbidden`); `user` the subject a 403 names. */
function explainStatus(
  status: number,
  what: string,
  user: string | undefined,
  { verb, namespace, name, server }: SecretCall,
): { problem: string; hint: string } {
  switch (status) {
    case 401:
      return {
        problem: `the API server at ${server} did not accept dbwarden's credentials (HTTP ${what})`,
        hint: 'check the service account token, or the user of the kubeconfig context',
      };
    case 403:
      return {
        problem: `forbidden (HTTP ${what})${user === undefined ? '' : ` for ${user}`}: RBAC does not allow verb "${verb}" on resource "secrets" in namespace ${namespace}`,
        hint: `grant "${verb}" on secrets${verb === 'create' ? '' : ` named ${name}`} in namespace ${namespace}: ${RBAC_RULES(namespace, name)}`,
      };
    case 404:
      return {
        problem: `not found (HTTP ${what}); does namespace ${namespace} exist?`,
        hint: 'create the namespace, or set credentials.kubernetes.namespace to an existing one',
      };
    case 409:
      return {
        problem: `conflict (HTTP ${what})`,
        hint: 'another client changed the Secret at the same time; run the command again',
      };
    case 422:
      return {
        problem: `the API server refused it as invalid (HTTP ${what})`,
        hint: `inspect the Secret with \`kubectl -n ${namespace} describe secret ${name}\` (a basic-auth Secret needs a username or password key; its type cannot change)`,
      };
    default:
      return {
        problem: `the API server at ${server} answered HTTP ${what}`,
        hint: 'check the API server; running the command again is safe',
      };
  }
}

/** No HTTP answer at all: the network, TLS, or a kubeconfig the client refuses to use. */
function noAnswer(error: unknown, { verb, namespace, name, server }: SecretCall): KubernetesSecretError {
  const code = systemCode(error);
  const configProblem =
    error instanceof Error && error.message.startsWith('HTTP protocol is not allowed')
      ? ': the kubeconfig names an http:// server without insecure-skip-tls-verify'
      : undefined;
  const detail =
    configProblem ??
    (code === undefined ? ` (${error instanceof Error ? error.name : 'unknown error'})` : ` (${code})`);
  return new KubernetesSecretError(
    `cannot ${verb} Secret ${namespace}/${name}: no answer from the API server at ${server}${detail}`,
    {
      namespace,
      secret: name,
      hint: 'check that the API server is reachable from here; running the command again is safe',
    },
  );
}
