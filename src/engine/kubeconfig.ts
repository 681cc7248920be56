// Finds the API server and how to authenticate to it: a small stand-in for client-node's
// `KubeConfig`. Why: importing `@kubernetes/client-node` costs ~86 MiB RSS, because its
// config.js pulls in the whole generated API. The operator only needs a server URL, TLS material
// and an Authorization header, so this file reads kubeconfig files (YAML, loaded on demand) and
// the in-cluster service account itself, with node builtins only.
//
// Covered (kubectl semantics): clusters with server, certificate-authority[-data],
// insecure-skip-tls-verify, tls-server-name; users with token, tokenFile, client-certificate[-data],
// client-key[-data], username/password, `as` (impersonation) and exec credential plugins
// (client.authentication.k8s.io/v1 and v1beta1); $KUBECONFIG lists merged the kubectl way;
// in-cluster service accounts with rotating bound tokens. Rotation: every file (token, CA,
// client certificate and key) is re-read when its mtime or size changes, looked at at most every
// 10 s and at once after `invalidate()` (the client calls it on a 401 or a TLS failure); exec
// credentials are kept until their expirationTimestamp or the next `invalidate()`. Not covered,
// with a clear error: the legacy auth-provider (use an exec plugin such as kubelogin or
// gke-gcloud-auth-plugin), proxy-url (use HTTPS_PROXY), and group/extra impersonation.
import { execFile } from 'node:child_process';
import { access, readFile, stat } from 'node:fs/promises';
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
  /** The context's namespace (in-cluster: the service account's), when it names one. */
  readonly namespace?: string | undefined;
  /** Called before every request: cheap when nothing changed; looks at files at most every 10 s
   * (re-reading those that changed); exec credentials are kept until status.expirationTimestamp. */
  options(): Promise<ConnectionOptions>;
  /** The server refused the credentials (401) or the TLS handshake failed: the next `options()`
   * looks at every file again and runs the exec plugin again, unless `stale` (what the refused
   * request was sent with) no longer is what the plugin gave. */
  invalidate?(stale?: ConnectionOptions): void;
}

/** A kubeconfig that cannot be used as asked; `contexts` lists the known ones when a context is missing. */
export class KubeConfigError extends Error {
  override readonly name = 'KubeConfigError';
  readonly contexts: readonly string[] | undefined;

  constructor(message: string, contexts?: readonly string[], options?: ErrorOptions) {
    super(message, options);
    this.contexts = contexts;
  }
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
  /** Default Date.now, for file checks and credential expiry. */
  now?: () => number;
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** How often a file is looked at (stat) for a change. */
export const FILE_CHECK_MS = 10_000;
const EXEC_TIMEOUT_MS = 60_000;

type Obj = Record<string, unknown>;
type Pem = string | Buffer;
/** What a user contributes to a request. */
type Creds = { authorization?: string; cert?: Pem; key?: Pem };
/** A cluster, user or context entry and the file it came from (relative paths resolve against it). */
type Entry = { file: string; value: Obj };
/** What one load shares: the environment, the clock, and what `invalidate()` resets. */
type Ctx = { env: NodeJS.ProcessEnv; now: () => number; resets: Array<(stale?: ConnectionOptions) => void> };
/** TLS material read when needed (files are re-read when they change). */
type Material = () => Promise<Pem | undefined>;

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
  const ctx: Ctx = { env: opts.env ?? process.env, now: opts.now ?? Date.now, resets: [] };
  if (opts.path) return fromFiles([path.resolve(opts.path)], opts.context, ctx);
  const tried: string[] = [];
  const files = await kubeconfigEnvFiles(ctx.env, tried);
  if (files.length > 0) return fromFiles(files, opts.context, ctx);
  const cluster = await inClusterIfAny(opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR, ctx, tried);
  if (cluster) return cluster;
  const home = await homeKubeconfig(ctx.env, tried);
  if (home) return fromFiles([home], opts.context, ctx);
  throw new Error(`no Kubernetes configuration found; tried ${tried.join('; ')}`);
}

/** In-cluster configuration when the service environment and the token are there; else says so in `tried`. */
async function inClusterIfAny(
  dir: string,
  ctx: Ctx,
  tried: string[],
): Promise<ClusterConnection | undefined> {
  const { KUBERNETES_SERVICE_HOST: host, KUBERNETES_SERVICE_PORT: port } = ctx.env;
  if (host && port && (await exists(path.join(dir, 'token')))) return inCluster(host, port, dir, ctx);
  tried.push(`in-cluster (KUBERNETES_SERVICE_HOST/PORT and ${path.join(dir, 'token')})`);
  return undefined;
}

/** The files of $KUBECONFIG that exist; when it lists only missing ones, says so in `tried`. */
async function kubeconfigEnvFiles(env: NodeJS.ProcessEnv, tried: string[]): Promise<string[]> {
  const listed = (env.KUBECONFIG ?? '').split(path.delimiter).filter(Boolean);
  const files: string[] = [];
  for (const f of listed) if (await exists(path.resolve(f))) files.push(path.resolve(f));
  if (listed.length > 0 && files.length === 0) tried.push(`$KUBECONFIG (${listed.join(', ')}: none exists)`);
  return files;
}

/** $HOME/.kube/config when it exists; otherwise its path goes to `tried`. */
async function homeKubeconfig(env: NodeJS.ProcessEnv, tried: string[]): Promise<string | undefined> {
  if (!env.HOME) return undefined;
  const home = path.join(env.HOME, '.kube', 'config');
  if (await exists(home)) return home;
  tried.push(home);
  return undefined;
}

async function inCluster(host: string, port: string, dir: string, ctx: Ctx): Promise<ClusterConnection> {
  const caFile = path.join(dir, 'ca.crt');
  const ca = (await exists(caFile)) ? watchedFile(caFile, 'CA file', ctx) : undefined;
  const token = watchedFile(path.join(dir, 'token'), 'token file', ctx);
  const nsFile = path.join(dir, 'namespace');
  const namespace = (await exists(nsFile)) ? (await readFile(nsFile, 'utf8')).trim() : undefined;
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const base = { ca, tls: { rejectUnauthorized: true }, headers: {} };
  return connection({ server, source: 'in-cluster', namespace }, base, ctx, async () => ({
    authorization: `Bearer ${String(await token()).trim()}`,
  }));
}

type Maps = Record<'clusters' | 'users' | 'contexts', Map<string, Entry>>;

/** Reads and merges the files the kubectl way: the first file defining a name wins. */
async function readMerged(files: string[]): Promise<{ maps: Maps; current: string | undefined }> {
  const { parse } = await import('yaml');
  const maps: Maps = { clusters: new Map(), users: new Map(), contexts: new Map() };
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
  return { maps, current };
}

async function fromFiles(files: string[], context: string | undefined, ctx: Ctx): Promise<ClusterConnection> {
  const { maps, current } = await readMerged(files);
  const where = `kubeconfig ${files.join(path.delimiter)}`;
  const ctxName = context ?? current;
  const known = [...maps.contexts.keys()];
  if (!ctxName) throw new KubeConfigError(`${where}: no current-context set and no context given`, known);
  const lookup = (kind: keyof Maps, name: string | undefined): Entry => {
    const found = name === undefined ? undefined : maps[kind].get(name);
    if (found) return found;
    const message = `${where}: ${kind.slice(0, -1)} "${name ?? ''}" not found`;
    throw new KubeConfigError(message, kind === 'contexts' ? known : undefined);
  };
  const c = lookup('contexts', ctxName).value;
  const clusterName = str(c.cluster);
  const base = clusterBase(lookup('clusters', clusterName), `${where}: cluster "${clusterName}"`, ctx);
  await base.ca?.(); // a missing CA file fails the load, naming it
  const head = { server: base.server, source: `${where}, context ${ctxName}`, namespace: str(c.namespace) };
  const userName = str(c.user);
  if (!userName) return connection(head, base, ctx);
  const user = lookup('users', userName);
  const as = str(user.value.as);
  if (as) base.headers['Impersonate-User'] = as;
  return connection(head, base, ctx, await credentials(user, `${where}: user "${userName}"`, ctx));
}

/** What a request takes from the cluster entry, besides credentials. */
interface Base {
  ca: Material | undefined;
  tls: { rejectUnauthorized: boolean; servername?: string };
  headers: Record<string, string>;
}

function clusterBase(cluster: Entry, who: string, ctx: Ctx): Base & { server: string } {
  const cv = cluster.value;
  const server = str(cv.server)?.replace(/\/+$/, '');
  if (!server) throw new KubeConfigError(`${who} has no server`);
  if (cv['proxy-url'] !== undefined) {
    throw new KubeConfigError(`${who} sets proxy-url, which is not supported; set HTTPS_PROXY instead`);
  }
  const servername = str(cv['tls-server-name']);
  return {
    server,
    ca: fileOrData(cv, 'certificate-authority', path.dirname(cluster.file), ctx),
    tls: {
      rejectUnauthorized: cv['insecure-skip-tls-verify'] !== true,
      ...(servername ? { servername } : {}),
    },
    headers: {},
  };
}

/** The first file defining a name wins, as kubectl merges $KUBECONFIG. */
function addEntry(map: Map<string, Entry>, item: Obj, key: string, file: string): void {
  const name = str(item.name);
  if (name && !map.has(name)) map.set(name, { file, value: obj(item[key.slice(0, -1)]) }); // clusters[].cluster
}

/** The `<key>-data` (base64) or, failing that, the file `<key>` (relative to the kubeconfig's directory). */
function fileOrData(v: Obj, key: string, dir: string, ctx: Ctx): Material | undefined {
  const data = str(v[`${key}-data`]);
  if (data) {
    const pemData = Buffer.from(data, 'base64');
    return () => Promise.resolve(pemData);
  }
  const file = str(v[key]);
  return file ? watchedFile(path.resolve(dir, file), key, ctx) : undefined;
}

async function credentials(user: Entry, who: string, ctx: Ctx): Promise<() => Promise<Creds>> {
  const v = user.value;
  const dir = path.dirname(user.file);
  refuseUnsupported(v, who);
  const cert = fileOrData(v, 'client-certificate', dir, ctx);
  const key = fileOrData(v, 'client-key', dir, ctx);
  // Read once now, so a missing file fails the load, naming the field (the certificate first:
  // one answer whichever read finishes first).
  await cert?.();
  await key?.();
  const auth = authorization(v, dir, ctx);
  return async () => ({ cert: await cert?.(), key: await key?.(), ...(await auth()) });
}

function refuseUnsupported(v: Obj, who: string): void {
  if (v['auth-provider'] !== undefined) {
    const name = str(obj(v['auth-provider']).name) ?? 'unknown';
    throw new KubeConfigError(
      `${who} uses auth-provider "${name}", which is not supported; use an exec credential plugin ` +
        `instead (e.g. kubelogin for OIDC/Azure, gke-gcloud-auth-plugin for GKE)`,
    );
  }
  if (v['as-groups'] !== undefined || v['as-user-extra'] !== undefined || v['as-uid'] !== undefined) {
    throw new KubeConfigError(`${who}: as-groups, as-uid and as-user-extra are not supported (only "as")`);
  }
}

/** The Authorization a user sends (exec plugin, token, tokenFile or basic), or none. */
function authorization(v: Obj, dir: string, ctx: Ctx): () => Promise<Creds> {
  if (v.exec !== undefined) return execPlugin(obj(v.exec), dir, ctx);
  const token = str(v.token);
  const tokenFile = str(v.tokenFile);
  const username = str(v.username);
  if (token) return () => Promise.resolve({ authorization: `Bearer ${token}` });
  if (tokenFile) {
    const read = watchedFile(path.resolve(dir, tokenFile), 'tokenFile', ctx);
    return async () => ({ authorization: `Bearer ${String(await read()).trim()}` });
  }
  if (!username) return () => Promise.resolve({});
  const basic = `Basic ${Buffer.from(`${username}:${str(v.password) ?? ''}`).toString('base64')}`;
  return () => Promise.resolve({ authorization: basic });
}

/**
 * A file's content, re-read when its mtime or size changes. The file is looked at (stat) at most
 * every FILE_CHECK_MS, and at once after `invalidate()`. A failed re-read keeps the last good
 * content; a failed first read throws, naming `field` and the file.
 */
function watchedFile(file: string, field: string, ctx: Ctx): () => Promise<Buffer> {
  let content: Buffer | undefined;
  let version = '';
  let checkedAt = -Infinity;
  ctx.resets.push(() => (checkedAt = -Infinity));
  const load = async (): Promise<Buffer> => {
    const s = await stat(file);
    const seen = `${s.mtimeMs}/${s.size}/${s.ino}`;
    if (content === undefined || seen !== version) [content, version] = [await readFile(file), seen];
    return content;
  };
  return async () => {
    if (content !== undefined && ctx.now() - checkedAt < FILE_CHECK_MS) return content;
    checkedAt = ctx.now();
    try {
      return await load();
    } catch (err) {
      if (content !== undefined) return content;
      checkedAt = -Infinity;
      throw new KubeConfigError(`cannot read ${field} ${file}: ${errText(err)}`, undefined, { cause: err });
    }
  };
}

/** Runs an exec credential plugin (see `execCommand`) for the current credentials. */
function execPlugin(ex: Obj, dir: string, ctx: Ctx): () => Promise<Creds> {
  const { run, what } = execCommand(ex, dir, ctx);
  let pending: Promise<Creds> | undefined;
  let last: Creds | undefined; // what `pending` resolved to; undefined while it runs
  let until = Infinity;
  ctx.resets.push((stale) => {
    // Run again, unless a run is under way or the refused credentials are already replaced (a
    // burst of 401s for requests sent with the old token runs the plugin once).
    if (!pending || !last || (stale && !sameCreds(last, stale))) return;
    pending = undefined;
  });
  return () => {
    // While a run is pending `until` is Infinity, so concurrent callers share it.
    if (pending && ctx.now() < until) return pending;
    until = Infinity;
    last = undefined;
    const p = run().then((stdout) => {
      const answer = parseExecCredential(stdout, what);
      until = answer.until;
      return (last = answer.creds);
    });
    p.catch(() => pending === p && (pending = undefined)); // a failure is retried on the next call
    return (pending = p);
  };
}

function sameCreds(creds: Creds, used: ConnectionOptions): boolean {
  return creds.authorization === used.headers.Authorization && creds.cert === used.cert;
}

/** The plugin's command line, resolved like client-go, and a function that runs it once. */
function execCommand(ex: Obj, dir: string, ctx: Ctx): { run: () => Promise<string>; what: string } {
  const apiVersion = str(ex.apiVersion) ?? 'client.authentication.k8s.io/v1';
  const command = str(ex.command);
  if (!command) throw new KubeConfigError('exec plugin without a command');
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
  return { run, what };
}

function parseExecCredential(stdout: string, what: string): { creds: Creds; until: number } {
  const status = obj(execCredentialJson(stdout, what).status);
  const [token, cert, key] = [status.token, status.clientCertificateData, status.clientKeyData].map(str);
  if (!token && !(cert && key)) throw noExecCredential(what);
  const expires = str(status.expirationTimestamp);
  const until = expires ? Date.parse(expires) : Infinity;
  if (Number.isNaN(until)) throw new Error(`${what}: bad expirationTimestamp "${expires}"`);
  return { creds: { authorization: token && `Bearer ${token}`, ...(cert && key && { cert, key }) }, until };
}

/** The plugin's output as an ExecCredential object (its status not yet checked). */
function execCredentialJson(stdout: string, what: string): Obj {
  let out: Obj;
  try {
    out = obj(JSON.parse(stdout));
  } catch (err) {
    throw new Error(`${what} printed no JSON: ${errText(err)}`, { cause: err });
  }
  if (out.kind !== 'ExecCredential') throw noExecCredential(what);
  return out;
}

function noExecCredential(what: string): Error {
  return new Error(`${what} printed no ExecCredential with status.token or a client certificate and key`);
}

function connection(
  head: { server: string; source: string; namespace: string | undefined },
  base: Base,
  ctx: Ctx,
  creds: () => Promise<Creds> = () => Promise.resolve({}),
): ClusterConnection {
  // The options of the last request, handed out again while its credentials are the very same
  // values (every request asks; a new object each time was ~1 KB of garbage per request).
  let last: { ca: Pem | undefined; creds: Creds; options: ConnectionOptions } | undefined;
  return {
    ...head,
    async options() {
      const [ca, c] = await Promise.all([base.ca?.(), creds()]);
      if (last && last.ca === ca && sameCredValues(last.creds, c)) return last.options;
      const { authorization, cert, key } = c;
      const headers = authorization ? { ...base.headers, Authorization: authorization } : { ...base.headers };
      const options = { ...base.tls, ca, cert, key, headers };
      last = { ca, creds: c, options };
      return options;
    },
    invalidate(stale?: ConnectionOptions) {
      for (const reset of ctx.resets) reset(stale);
    },
  };
}

const sameCredValues = (a: Creds, b: Creds): boolean =>
  a.authorization === b.authorization && a.cert === b.cert && a.key === b.key;

const pem = (v: unknown): Pem | undefined => (typeof v === 'string' || Buffer.isBuffer(v) ? v : undefined);

/** Wraps a client-node KubeConfig someone already holds (tests, tools) without importing client-node. */
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
