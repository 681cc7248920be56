// Finds the API server and how to authenticate to it: a small stand-in for client-node's
// `KubeConfig`. Why: importing `@kubernetes/client-node` costs ~86 MiB RSS, because its
// config.js pulls in the whole generated API. The operator only needs a server URL, TLS material
// and an Authorization header, so this file reads kubeconfig files (YAML, loaded on demand) and
// the in-cluster service account itself, with node builtins only.
//
// Covered (kubectl semantics): clusters with server, certificate-authority[-data],
// insecure-skip-tls-verify, tls-server-name; users with token, tokenFile (re-read, it rotates),
// client-certificate[-data], client-key[-data], username/password, `as` (impersonation) and exec
// credential plugins (client.authentication.k8s.io/v1 and v1beta1); $KUBECONFIG lists merged the
// kubectl way; in-cluster service accounts with rotating bound tokens. Not covered, with a clear
// error: the legacy auth-provider (use an exec plugin such as kubelogin or
// gke-gcloud-auth-plugin), proxy-url, and group/extra impersonation.
import { execFile } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** What one request needs besides its URL path. */
export interface ConnectionOptions {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  rejectUnauthorized: boolean;
  /** tls-server-name */
  servername?: string;
  /** 'Authorization' when the user has credentials ('Bearer <t>' or 'Basic <b64>'). */
  headers: Record<string, string>;
}

/** An API server and how to authenticate to it. */
export interface ClusterConnection {
  /** API server URL without a trailing slash. */
  readonly server: string;
  /** Where it came from, for error messages: a kubeconfig path + context, or 'in-cluster'. */
  readonly source: string;
  /** Called before every request: cheap when nothing changed; re-reads token files at most once
   * per 60 s; exec credentials are cached until status.expirationTimestamp (forever without one). */
  options(): Promise<ConnectionOptions>;
}

export interface LoadOptions {
  /** --kubeconfig: only this file. */
  path?: string;
  /** A context other than current-context. */
  context?: string;
  /** Default process.env (KUBECONFIG, HOME, KUBERNETES_SERVICE_HOST/PORT); also the exec plugins' env. */
  env?: NodeJS.ProcessEnv;
  /** Default /var/run/secrets/kubernetes.io/serviceaccount (token, ca.crt). */
  serviceAccountDir?: string;
  /** Default Date.now, for token re-read and expiry. */
  now?: () => number;
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const REREAD_MS = 60_000;
const EXEC_TIMEOUT_MS = 60_000;

type Obj = Record<string, unknown>;
type Pem = string | Buffer;
/** What a user contributes to a request. */
type Creds = { authorization?: string; cert?: Pem; key?: Pem };
/** A cluster, user or context entry and the file it came from (relative paths resolve against it). */
type Entry = { file: string; value: Obj };
type Ctx = { env: NodeJS.ProcessEnv; now: () => number };

const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const objs = (v: unknown): Obj[] => (Array.isArray(v) ? v.map(obj) : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const errText = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const exists = (file: string): Promise<boolean> =>
  access(file).then(
    () => true,
    () => false,
  );

/** controller-runtime's order: opts.path → $KUBECONFIG → in-cluster → $HOME/.kube/config. */
export async function loadKubeConfig(opts: LoadOptions = {}): Promise<ClusterConnection> {
  const ctx: Ctx = { env: opts.env ?? process.env, now: opts.now ?? Date.now };
  if (opts.path) return fromFiles([path.resolve(opts.path)], opts.context, ctx);
  const tried: string[] = [];
  const listed = (ctx.env.KUBECONFIG ?? '').split(path.delimiter).filter(Boolean);
  if (listed.length > 0) {
    const files: string[] = [];
    for (const f of listed) if (await exists(path.resolve(f))) files.push(path.resolve(f));
    if (files.length > 0) return fromFiles(files, opts.context, ctx);
    tried.push(`$KUBECONFIG (${listed.join(', ')}: none exists)`);
  }
  const dir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const { KUBERNETES_SERVICE_HOST: host, KUBERNETES_SERVICE_PORT: port } = ctx.env;
  if (host && port && (await exists(path.join(dir, 'token')))) return inCluster(host, port, dir, ctx);
  tried.push(`in-cluster (KUBERNETES_SERVICE_HOST/PORT and ${path.join(dir, 'token')})`);
  if (ctx.env.HOME) {
    const home = path.join(ctx.env.HOME, '.kube', 'config');
    if (await exists(home)) return fromFiles([home], opts.context, ctx);
    tried.push(home);
  }
  throw new Error(`no Kubernetes configuration found; tried ${tried.join('; ')}`);
}

async function inCluster(host: string, port: string, dir: string, ctx: Ctx): Promise<ClusterConnection> {
  const caFile = path.join(dir, 'ca.crt');
  const ca = (await exists(caFile)) ? await readFile(caFile) : undefined;
  const token = rotatingFile(path.join(dir, 'token'), ctx.now);
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return connection(server, 'in-cluster', { ca, rejectUnauthorized: true, headers: {} }, async () => ({
    authorization: `Bearer ${await token()}`,
  }));
}

async function fromFiles(files: string[], context: string | undefined, ctx: Ctx): Promise<ClusterConnection> {
  const { parse } = await import('yaml');
  const entries = (): Map<string, Entry> => new Map();
  const maps = { clusters: entries(), users: entries(), contexts: entries() };
  let current: string | undefined;
  for (const file of files) {
    let doc: Obj;
    try {
      doc = obj(parse(await readFile(file, 'utf8')));
    } catch (err) {
      throw new Error(`cannot read kubeconfig ${file}: ${errText(err)}`, { cause: err });
    }
    current ??= str(doc['current-context']);
    for (const [key, map] of Object.entries(maps))
      for (const item of objs(doc[key])) addEntry(map, item, key, file);
  }
  const where = `kubeconfig ${files.join(path.delimiter)}`;
  const ctxName = context ?? current;
  if (!ctxName) throw new Error(`${where}: no current-context set and no context given`);
  const lookup = (kind: keyof typeof maps, name: string | undefined): Entry => {
    const found = name === undefined ? undefined : maps[kind].get(name);
    if (!found) throw new Error(`${where}: ${kind.slice(0, -1)} "${name ?? ''}" not found`);
    return found;
  };
  const c = lookup('contexts', ctxName).value;
  const clusterName = str(c.cluster);
  const cluster = lookup('clusters', clusterName);
  const cv = cluster.value;
  const server = str(cv.server)?.replace(/\/+$/, '');
  if (!server) throw new Error(`${where}: cluster "${clusterName}" has no server`);
  if (cv['proxy-url'] !== undefined) {
    throw new Error(
      `${where}: cluster "${clusterName}" sets proxy-url, which is not supported; reach the API server directly`,
    );
  }
  const base: ConnectionOptions = {
    ca: await fileOrData(cv, 'certificate-authority', path.dirname(cluster.file)),
    rejectUnauthorized: cv['insecure-skip-tls-verify'] !== true,
    servername: str(cv['tls-server-name']),
    headers: {},
  };
  const userName = str(c.user);
  if (!userName) return connection(server, `${where}, context ${ctxName}`, base);
  const user = lookup('users', userName);
  const as = str(user.value.as);
  if (as) base.headers['Impersonate-User'] = as;
  const creds = await credentials(user, `${where}: user "${userName}"`, ctx);
  return connection(server, `${where}, context ${ctxName}`, base, creds);
}

/** The first file defining a name wins, as kubectl merges $KUBECONFIG. */
function addEntry(map: Map<string, Entry>, item: Obj, key: string, file: string): void {
  const name = str(item.name);
  if (name && !map.has(name)) map.set(name, { file, value: obj(item[key.slice(0, -1)]) }); // clusters[].cluster
}

/** The `<key>-data` (base64) or, failing that, the file `<key>` (relative to the kubeconfig's directory). */
async function fileOrData(v: Obj, key: string, dir: string): Promise<Buffer | undefined> {
  const data = str(v[`${key}-data`]);
  if (data) return Buffer.from(data, 'base64');
  const file = str(v[key]);
  return file ? readFile(path.resolve(dir, file)) : undefined;
}

async function credentials(user: Entry, who: string, ctx: Ctx): Promise<() => Promise<Creds>> {
  const v = user.value;
  const dir = path.dirname(user.file);
  if (v['auth-provider'] !== undefined) {
    const name = str(obj(v['auth-provider']).name) ?? 'unknown';
    throw new Error(
      `${who} uses auth-provider "${name}", which is not supported; use an exec credential plugin ` +
        `instead (e.g. kubelogin for OIDC/Azure, gke-gcloud-auth-plugin for GKE)`,
    );
  }
  if (v['as-groups'] !== undefined || v['as-user-extra'] !== undefined || v['as-uid'] !== undefined) {
    throw new Error(`${who}: as-groups, as-uid and as-user-extra are not supported (only "as")`);
  }
  const fixed: Creds = {
    cert: await fileOrData(v, 'client-certificate', dir),
    key: await fileOrData(v, 'client-key', dir),
  };
  const token = str(v.token);
  const tokenFile = str(v.tokenFile);
  const username = str(v.username);
  if (v.exec !== undefined) {
    const run = execPlugin(obj(v.exec), dir, ctx);
    return async () => ({ ...fixed, ...(await run()) });
  }
  if (token) fixed.authorization = `Bearer ${token}`;
  else if (tokenFile) {
    const read = rotatingFile(path.resolve(dir, tokenFile), ctx.now);
    return async () => ({ ...fixed, authorization: `Bearer ${await read()}` });
  } else if (username) {
    fixed.authorization = `Basic ${Buffer.from(`${username}:${str(v.password) ?? ''}`).toString('base64')}`;
  }
  return () => Promise.resolve(fixed);
}

/** A file's trimmed text, re-read at most every 60 s; a failed re-read keeps the last good value. */
function rotatingFile(file: string, now: () => number): () => Promise<string> {
  let value: string | undefined;
  let readAt = 0;
  return async () => {
    if (value !== undefined && now() - readAt < REREAD_MS) return value;
    readAt = now();
    try {
      value = (await readFile(file, 'utf8')).trim();
    } catch (err) {
      if (value === undefined)
        throw new Error(`cannot read token file ${file}: ${errText(err)}`, { cause: err });
    }
    return value;
  };
}

/** Runs an exec credential plugin; its answer is cached until status.expirationTimestamp. */
function execPlugin(ex: Obj, dir: string, ctx: Ctx): () => Promise<Creds> {
  const apiVersion = str(ex.apiVersion) ?? 'client.authentication.k8s.io/v1';
  const command = str(ex.command);
  if (!command) throw new Error('exec plugin without a command');
  // Like client-go: a command with a path separator is relative to the kubeconfig; others use PATH.
  const file = command.includes(path.sep) ? path.resolve(dir, command) : command;
  const args = Array.isArray(ex.args) ? ex.args.map(String) : [];
  const env: NodeJS.ProcessEnv = { ...ctx.env };
  for (const e of objs(ex.env)) if (str(e.name)) env[String(e.name)] = str(e.value) ?? '';
  const spec = { interactive: false };
  env.KUBERNETES_EXEC_INFO = JSON.stringify({ apiVersion, kind: 'ExecCredential', spec });
  const what = `exec plugin "${[command, ...args].join(' ')}"`;
  const run = (): Promise<string> =>
    new Promise((resolve, reject) => {
      execFile(file, args, { env, timeout: EXEC_TIMEOUT_MS, encoding: 'utf8' }, (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const how = err.killed ? 'timed out' : `failed (${err.code ?? err.signal ?? err.message})`;
        reject(new Error(`${what} ${how}: ${stderr.trim() || err.message}`, { cause: err }));
      });
    });
  let pending: Promise<Creds> | undefined;
  let until = Infinity;
  return () => {
    // While a run is pending `until` is Infinity, so concurrent callers share it.
    if (pending && ctx.now() < until) return pending;
    until = Infinity;
    const p = run().then((stdout) => {
      const answer = parseExecCredential(stdout, what);
      until = answer.until;
      return answer.creds;
    });
    p.catch(() => pending === p && (pending = undefined)); // a failure is retried on the next call
    return (pending = p);
  };
}

function parseExecCredential(stdout: string, what: string): { creds: Creds; until: number } {
  let out: Obj;
  try {
    out = obj(JSON.parse(stdout));
  } catch (err) {
    throw new Error(`${what} printed no JSON: ${errText(err)}`, { cause: err });
  }
  const status = obj(out.status);
  const [token, cert, key] = [status.token, status.clientCertificateData, status.clientKeyData].map(str);
  if (out.kind !== 'ExecCredential' || (!token && !(cert && key))) {
    throw new Error(`${what} printed no ExecCredential with status.token or a client certificate and key`);
  }
  const expires = str(status.expirationTimestamp);
  const until = expires ? Date.parse(expires) : Infinity;
  if (Number.isNaN(until)) throw new Error(`${what}: bad expirationTimestamp "${expires}"`);
  return { creds: { authorization: token && `Bearer ${token}`, ...(cert && key && { cert, key }) }, until };
}

function connection(
  server: string,
  source: string,
  base: ConnectionOptions,
  creds: () => Promise<Creds> = () => Promise.resolve({}),
): ClusterConnection {
  return {
    server,
    source,
    async options() {
      const { authorization, cert, key } = await creds();
      const headers = authorization ? { ...base.headers, Authorization: authorization } : { ...base.headers };
      return { ...base, cert, key, headers };
    },
  };
}

const pem = (v: unknown): Pem | undefined => (typeof v === 'string' || Buffer.isBuffer(v) ? v : undefined);

/** Wraps a client-node KubeConfig someone already holds (tests, CLI) without importing client-node. */
export function connectionFromKubeConfig(
  kc: Pick<KubeConfig, 'getCurrentCluster' | 'getCurrentContext' | 'applyToHTTPSOptions'>,
): ClusterConnection {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`KubeConfig: no cluster for context "${kc.getCurrentContext()}"`);
  return {
    server: cluster.server.replace(/\/+$/, ''),
    source: `KubeConfig context ${kc.getCurrentContext()}`,
    async options() {
      const o: RequestOptions = {};
      await kc.applyToHTTPSOptions(o);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(o.headers ?? {})) {
        if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
      }
      if (o.auth) headers.Authorization = `Basic ${Buffer.from(o.auth).toString('base64')}`;
      return {
        ca: pem(o.ca),
        cert: pem(o.cert),
        key: pem(o.key),
        rejectUnauthorized: o.rejectUnauthorized !== false,
        servername: o.servername,
        headers,
      };
    },
  };
}
