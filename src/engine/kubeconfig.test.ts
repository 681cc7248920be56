import { chmod, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FILE_CHECK_MS, KubeConfigError, connectionFromKubeConfig, loadKubeConfig } from './kubeconfig.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kubeconfig-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Rewrites a file the way a rotation does: new content, and an mtime that surely differs. */
async function rewrite(file: string, text: string): Promise<void> {
  await writeFile(file, text);
  const later = new Date(Date.now() + 60_000);
  await utimes(file, later, later);
}

/** Writes a kubeconfig (JSON is valid YAML) and returns its path. */
async function kubeconfig(name: string, doc: object): Promise<string> {
  const file = path.join(dir, name);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(doc));
  return file;
}

/** One cluster, one user, one context named `ctx`, current. */
function single(cluster: object, user: object, name = 'ctx') {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': name,
    clusters: [{ name: 'c', cluster: { server: 'https://api.example:6443/', ...cluster } }],
    users: [{ name: 'u', user }],
    contexts: [{ name, context: { cluster: 'c', user: 'u' } }],
  };
}

/** An environment with none of the variables loadKubeConfig looks at. */
const noEnv = { HOME: '/nonexistent-home' };

describe('loadKubeConfig from a file', () => {
  it('uses a static token and strips the trailing slash of the server', async () => {
    const file = await kubeconfig('config', single({}, { token: 'abc' }));
    const conn = await loadKubeConfig({ path: file, env: noEnv });
    expect(conn.server).toBe('https://api.example:6443');
    expect(conn.source).toContain(file);
    expect(conn.source).toContain('ctx');
    const o = await conn.options();
    expect(o.headers).toEqual({ Authorization: 'Bearer abc' });
    expect(o.rejectUnauthorized).toBe(true);
    expect(o.ca).toBeUndefined();
  });

  it('re-reads a tokenFile when it changes, looking at most every FILE_CHECK_MS', async () => {
    await writeFile(path.join(dir, 'tok'), 'one\n');
    const file = await kubeconfig('config', single({}, { tokenFile: 'tok' }));
    let t = 1_000_000;
    const conn = await loadKubeConfig({ path: file, env: noEnv, now: () => t });
    expect((await conn.options()).headers.Authorization).toBe('Bearer one');
    await rewrite(path.join(dir, 'tok'), 'two\n');
    t += FILE_CHECK_MS - 1;
    expect((await conn.options()).headers.Authorization).toBe('Bearer one');
    t += 1;
    expect((await conn.options()).headers.Authorization).toBe('Bearer two');
  });

  it('hands out the same options while the credentials are the same, new ones once they change', async () => {
    await writeFile(path.join(dir, 'tok'), 'one\n');
    const file = await kubeconfig('config', single({}, { tokenFile: 'tok' }));
    let t = 1_000_000;
    const conn = await loadKubeConfig({ path: file, env: noEnv, now: () => t });
    const first = await conn.options();
    expect(await conn.options()).toBe(first);
    await rewrite(path.join(dir, 'tok'), 'two\n');
    t += FILE_CHECK_MS;
    const next = await conn.options();
    expect(next).not.toBe(first);
    expect(next.headers.Authorization).toBe('Bearer two');
    expect(first.headers.Authorization).toBe('Bearer one');
  });

  it('re-reads rotated CA, client certificate and key files at once after invalidate()', async () => {
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) await writeFile(path.join(dir, f), `old ${f}`);
    const user = { 'client-certificate': 'cert.pem', 'client-key': 'key.pem' };
    const file = await kubeconfig('config', single({ 'certificate-authority': 'ca.pem' }, user));
    const conn = await loadKubeConfig({ path: file, env: noEnv, now: () => 1_000_000 });
    const texts = async () => {
      const o = await conn.options();
      return [o.ca, o.cert, o.key].map(String);
    };
    expect(await texts()).toEqual(['old ca.pem', 'old cert.pem', 'old key.pem']);
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) await rewrite(path.join(dir, f), `new ${f}`);
    // The clock stands still: nothing is looked at again until invalidate().
    expect(await texts()).toEqual(['old ca.pem', 'old cert.pem', 'old key.pem']);
    conn.invalidate?.();
    expect(await texts()).toEqual(['new ca.pem', 'new cert.pem', 'new key.pem']);
  });

  it('keeps the last good content when a rotated file is briefly missing', async () => {
    await writeFile(path.join(dir, 'tok'), 'one');
    const file = await kubeconfig('config', single({}, { tokenFile: 'tok' }));
    const conn = await loadKubeConfig({ path: file, env: noEnv });
    await conn.options();
    await rm(path.join(dir, 'tok'));
    conn.invalidate?.();
    expect((await conn.options()).headers.Authorization).toBe('Bearer one');
  });

  it('names a missing client-certificate file at load', async () => {
    const file = await kubeconfig(
      'config',
      single({}, { 'client-certificate': 'nope.pem', 'client-key': 'k' }),
    );
    await expect(loadKubeConfig({ path: file, env: noEnv })).rejects.toThrow(
      /client-certificate .*nope\.pem/,
    );
  });

  it("gives the context's namespace", async () => {
    const doc = single({}, { token: 't' });
    Object.assign(doc.contexts[0]!.context, { namespace: 'team' });
    const conn = await loadKubeConfig({ path: await kubeconfig('config', doc), env: noEnv });
    expect(conn.namespace).toBe('team');
  });

  it('reads a CA file relative to the kubeconfig, and CA data', async () => {
    await mkdir(path.join(dir, 'sub', 'pki'), { recursive: true });
    await writeFile(path.join(dir, 'sub', 'pki', 'ca.pem'), 'CA FROM FILE');
    const fromFile = await kubeconfig('sub/config', single({ 'certificate-authority': 'pki/ca.pem' }, {}));
    const a = await (await loadKubeConfig({ path: fromFile, env: noEnv })).options();
    expect(a.ca?.toString()).toBe('CA FROM FILE');
    expect(a.headers).toEqual({});

    const fromData = await kubeconfig('data', single({ 'certificate-authority-data': b64('CA DATA') }, {}));
    const b = await (await loadKubeConfig({ path: fromData, env: noEnv })).options();
    expect(b.ca?.toString()).toBe('CA DATA');
  });

  it('uses client certificate and key data, and tls-server-name', async () => {
    const file = await kubeconfig(
      'config',
      single(
        { 'tls-server-name': 'kubernetes.default' },
        { 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') },
      ),
    );
    const o = await (await loadKubeConfig({ path: file, env: noEnv })).options();
    expect(o.cert?.toString()).toBe('CERT');
    expect(o.key?.toString()).toBe('KEY');
    expect(o.servername).toBe('kubernetes.default');
    expect(o.headers).toEqual({});
  });

  it('turns insecure-skip-tls-verify into rejectUnauthorized: false', async () => {
    const file = await kubeconfig('config', single({ 'insecure-skip-tls-verify': true }, { token: 't' }));
    expect((await (await loadKubeConfig({ path: file, env: noEnv })).options()).rejectUnauthorized).toBe(
      false,
    );
  });

  it('sends username and password as Basic auth', async () => {
    const file = await kubeconfig('config', single({}, { username: 'admin', password: 's3cret' }));
    const o = await (await loadKubeConfig({ path: file, env: noEnv })).options();
    expect(o.headers.Authorization).toBe(`Basic ${b64('admin:s3cret')}`);
  });

  it('picks another context with the context option', async () => {
    const doc = single({}, { token: 'a' });
    doc.clusters.push({ name: 'c2', cluster: { server: 'https://other:443' } });
    doc.contexts.push({ name: 'other', context: { cluster: 'c2', user: 'u' } });
    const file = await kubeconfig('config', doc);
    const conn = await loadKubeConfig({ path: file, context: 'other', env: noEnv });
    expect(conn.server).toBe('https://other:443');
    expect(conn.source).toContain('other');
  });

  it('names an unknown context and the file', async () => {
    const file = await kubeconfig('config', single({}, { token: 'a' }));
    const err = await loadKubeConfig({ path: file, context: 'nope', env: noEnv }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeConfigError);
    expect((err as KubeConfigError).message).toBe(`kubeconfig ${file}: context "nope" not found`);
    expect((err as KubeConfigError).contexts).toEqual(['ctx']);
  });

  it('names an unknown user', async () => {
    const doc = single({}, { token: 'a' });
    doc.contexts[0]!.context.user = 'ghost';
    const file = await kubeconfig('config', doc);
    await expect(loadKubeConfig({ path: file, env: noEnv })).rejects.toThrow(/user "ghost" not found/);
  });

  it('rejects auth-provider with a pointer to exec plugins', async () => {
    const file = await kubeconfig('config', single({}, { 'auth-provider': { name: 'gcp', config: {} } }));
    const err = loadKubeConfig({ path: file, env: noEnv });
    await expect(err).rejects.toThrow(/auth-provider "gcp", which is not supported/);
    await expect(loadKubeConfig({ path: file, env: noEnv })).rejects.toThrow(/gke-gcloud-auth-plugin/);
  });

  it('rejects proxy-url', async () => {
    const file = await kubeconfig('config', single({ 'proxy-url': 'http://proxy:3128' }, { token: 't' }));
    await expect(loadKubeConfig({ path: file, env: noEnv })).rejects.toThrow(
      /proxy-url, which is not supported/,
    );
  });

  it('fails on a missing explicit path, naming it', async () => {
    const file = path.join(dir, 'missing');
    await expect(loadKubeConfig({ path: file, env: noEnv })).rejects.toThrow(
      `cannot read kubeconfig ${file}`,
    );
  });
});

describe('loadKubeConfig search order', () => {
  it('merges $KUBECONFIG: first file defining a name wins, current-context from the first that sets it, missing files skipped', async () => {
    const first = await kubeconfig('first', {
      clusters: [{ name: 'c', cluster: { server: 'https://first:1' } }],
      users: [{ name: 'u', user: { token: 'first-token' } }],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
    });
    const second = await kubeconfig('second', {
      'current-context': 'ctx',
      clusters: [
        { name: 'c', cluster: { server: 'https://second:2' } },
        { name: 'only-second', cluster: { server: 'https://only-second:3' } },
      ],
      users: [{ name: 'u', user: { token: 'second-token' } }],
      contexts: [
        { name: 'ctx', context: { cluster: 'only-second', user: 'u' } },
        { name: 'ctx2', context: { cluster: 'only-second', user: 'u' } },
      ],
    });
    const third = await kubeconfig('third', { 'current-context': 'ctx2' });
    const env = { ...noEnv, KUBECONFIG: [path.join(dir, 'missing'), first, second, third].join(':') };
    const conn = await loadKubeConfig({ env });
    expect(conn.server).toBe('https://first:1');
    expect((await conn.options()).headers.Authorization).toBe('Bearer first-token');
    expect(conn.source).toContain(`${first}:${second}:${third}`);
    expect((await loadKubeConfig({ env, context: 'ctx2' })).server).toBe('https://only-second:3');
  });

  it('prefers an explicit path over $KUBECONFIG', async () => {
    const explicit = await kubeconfig('explicit', single({ server: 'https://explicit:1' }, { token: 'e' }));
    const env = await kubeconfig('env', single({ server: 'https://env:1' }, { token: 'v' }));
    const conn = await loadKubeConfig({ path: explicit, env: { ...noEnv, KUBECONFIG: env } });
    expect(conn.server).toBe('https://explicit:1');
  });

  async function serviceAccount(token: string) {
    const sa = path.join(dir, 'sa');
    await mkdir(sa, { recursive: true });
    await writeFile(path.join(sa, 'token'), token);
    await writeFile(path.join(sa, 'ca.crt'), 'CLUSTER CA');
    return sa;
  }
  const podEnv = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

  it('loads in-cluster config and re-reads the rotating token', async () => {
    const sa = await serviceAccount('tok-1');
    let t = 5_000_000;
    const conn = await loadKubeConfig({ env: { ...noEnv, ...podEnv }, serviceAccountDir: sa, now: () => t });
    expect(conn.server).toBe('https://10.96.0.1:443');
    expect(conn.source).toBe('in-cluster');
    const o = await conn.options();
    expect(o.ca?.toString()).toBe('CLUSTER CA');
    expect(o.rejectUnauthorized).toBe(true);
    expect(o.headers).toEqual({ Authorization: 'Bearer tok-1' });
    await rewrite(path.join(sa, 'token'), 'tok-2');
    t += FILE_CHECK_MS / 2;
    expect((await conn.options()).headers.Authorization).toBe('Bearer tok-1');
    t += FILE_CHECK_MS / 2;
    expect((await conn.options()).headers.Authorization).toBe('Bearer tok-2');
  });

  it('brackets an IPv6 service host', async () => {
    const sa = await serviceAccount('t');
    const env = { ...noEnv, KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' };
    expect((await loadKubeConfig({ env, serviceAccountDir: sa })).server).toBe('https://[fd00::1]:443');
  });

  it('prefers in-cluster over ~/.kube/config, and $KUBECONFIG over in-cluster', async () => {
    const sa = await serviceAccount('pod-token');
    const home = path.join(dir, 'home');
    await kubeconfig('home/.kube/config', single({ server: 'https://home:1' }, { token: 'h' }));
    const fromHome = await loadKubeConfig({ env: { HOME: home }, serviceAccountDir: sa });
    expect(fromHome.server).toBe('https://home:1');
    const inPod = await loadKubeConfig({ env: { HOME: home, ...podEnv }, serviceAccountDir: sa });
    expect(inPod.source).toBe('in-cluster');
    const envFile = await kubeconfig('env', single({ server: 'https://env:1' }, { token: 'v' }));
    const withEnv = await loadKubeConfig({
      env: { HOME: home, ...podEnv, KUBECONFIG: envFile },
      serviceAccountDir: sa,
    });
    expect(withEnv.server).toBe('https://env:1');
  });

  it('says what it tried when nothing works', async () => {
    const env = { HOME: path.join(dir, 'nohome'), KUBECONFIG: path.join(dir, 'nofile') };
    const err = loadKubeConfig({ env, serviceAccountDir: path.join(dir, 'nosa') });
    await expect(err).rejects.toThrow(/\$KUBECONFIG .*nofile.*in-cluster.*nohome\/\.kube\/config/);
  });
});

describe('exec credential plugins', () => {
  /** A plugin printing `body` (an ExecCredential status) and counting its runs in `count`. */
  async function plugin(
    status: object | null,
    exitCode = 0,
  ): Promise<{ file: string; runs: () => Promise<number> }> {
    const count = path.join(dir, 'count');
    const script = path.join(dir, 'plugin.sh');
    const out = JSON.stringify({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status,
    });
    await writeFile(
      script,
      [
        '#!/bin/sh',
        `echo x >> '${count}'`,
        // Echo back what the plugin was given, so the test can check it.
        `echo "$KUBERNETES_EXEC_INFO" > '${dir}/info'`,
        `echo "$1 $PLUGIN_VAR" > '${dir}/args'`,
        exitCode ? `echo 'login required' >&2; exit ${exitCode}` : `cat <<'EOF'\n${out}\nEOF`,
      ].join('\n'),
    );
    await chmod(script, 0o755);
    const runs = async () =>
      (await readFile(count, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
    return { file: script, runs };
  }

  function execUser(apiVersion = 'client.authentication.k8s.io/v1') {
    // A relative command with a separator resolves against the kubeconfig's directory.
    return {
      exec: {
        apiVersion,
        command: './plugin.sh',
        args: ['--arg'],
        env: [{ name: 'PLUGIN_VAR', value: 'v' }],
      },
    };
  }

  it('runs the plugin, passes args, env and KUBERNETES_EXEC_INFO, and uses its token', async () => {
    const { runs } = await plugin({ token: 'exec-token' });
    const file = await kubeconfig('config', single({}, execUser('client.authentication.k8s.io/v1beta1')));
    const conn = await loadKubeConfig({ path: file, env: noEnv });
    expect((await conn.options()).headers.Authorization).toBe('Bearer exec-token');
    expect(JSON.parse(await readFile(path.join(dir, 'info'), 'utf8'))).toEqual({
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      kind: 'ExecCredential',
      spec: { interactive: false },
    });
    expect((await readFile(path.join(dir, 'args'), 'utf8')).trim()).toBe('--arg v');
    // No expirationTimestamp: kept until the server refuses it (invalidate()).
    await conn.options();
    await conn.options();
    expect(await runs()).toBe(1);
  });

  it('runs the plugin again after invalidate() (a 401), once for a burst', async () => {
    const { runs } = await plugin({ token: 'no-expiry' });
    const file = await kubeconfig('config', single({}, execUser()));
    const conn = await loadKubeConfig({ path: file, env: noEnv });
    const refused = await conn.options();
    const script = path.join(dir, 'plugin.sh');
    await writeFile(script, (await readFile(script, 'utf8')).replace('no-expiry', 'fresh'));
    conn.invalidate?.(refused);
    expect((await conn.options()).headers.Authorization).toBe('Bearer fresh');
    expect(await runs()).toBe(2);
    // More 401s from requests sent with the old token: the fresh credentials are kept...
    conn.invalidate?.(refused);
    conn.invalidate?.(refused);
    await conn.options();
    expect(await runs()).toBe(2);
    // ...and a 401 for the fresh ones runs it again.
    conn.invalidate?.(await conn.options());
    await conn.options();
    expect(await runs()).toBe(3);
  });

  it('caches until expirationTimestamp and runs again after it', async () => {
    const expiry = Date.parse('2030-01-01T00:00:00Z');
    const { runs } = await plugin({ token: 'exp-token', expirationTimestamp: '2030-01-01T00:00:00Z' });
    const file = await kubeconfig('config', single({}, execUser()));
    let t = expiry - 10_000;
    const conn = await loadKubeConfig({ path: file, env: noEnv, now: () => t });
    // Concurrent first calls share one run.
    await Promise.all([conn.options(), conn.options()]);
    expect(await runs()).toBe(1);
    t = expiry - 1;
    expect((await conn.options()).headers.Authorization).toBe('Bearer exp-token');
    expect(await runs()).toBe(1);
    t = expiry + 1;
    await conn.options();
    expect(await runs()).toBe(2);
  });

  it('uses a client certificate from the plugin', async () => {
    await plugin({ clientCertificateData: 'PEM CERT', clientKeyData: 'PEM KEY' });
    const file = await kubeconfig('config', single({}, execUser()));
    const o = await (await loadKubeConfig({ path: file, env: noEnv })).options();
    expect(o.cert).toBe('PEM CERT');
    expect(o.key).toBe('PEM KEY');
    expect(o.headers).toEqual({});
  });

  it('reports a failing plugin with its command and stderr, and retries on the next call', async () => {
    const { runs } = await plugin(null, 3);
    const file = await kubeconfig('config', single({}, execUser()));
    const conn = await loadKubeConfig({ path: file, env: noEnv });
    await expect(conn.options()).rejects.toThrow(
      /exec plugin "\.\/plugin\.sh --arg" failed \(3\): login required/,
    );
    await expect(conn.options()).rejects.toThrow(/login required/);
    expect(await runs()).toBe(2);
  });

  it('reports a plugin printing no credential', async () => {
    await plugin({});
    const file = await kubeconfig('config', single({}, execUser()));
    const conn = await loadKubeConfig({ path: file, env: noEnv });
    await expect(conn.options()).rejects.toThrow(/printed no ExecCredential with status.token/);
  });
});

describe('connectionFromKubeConfig', () => {
  it('maps a client-node KubeConfig onto ConnectionOptions', async () => {
    const kc = new KubeConfig();
    kc.loadFromString(
      JSON.stringify(
        single(
          { 'certificate-authority-data': b64('KC CA'), 'tls-server-name': 'sni' },
          { token: 'kc-token' },
        ),
      ),
    );
    const conn = connectionFromKubeConfig(kc);
    expect(conn.server).toBe('https://api.example:6443');
    expect(conn.source).toContain('ctx');
    const o = await conn.options();
    expect(o.ca?.toString()).toBe('KC CA');
    expect(o.servername).toBe('sni');
    expect(o.rejectUnauthorized).toBe(true);
    expect(o.headers.Authorization).toBe('Bearer kc-token');
  });

  it('maps basic auth and insecure-skip-tls-verify', async () => {
    const kc = new KubeConfig();
    kc.loadFromString(
      JSON.stringify(single({ 'insecure-skip-tls-verify': true }, { username: 'a', password: 'b' })),
    );
    const o = await connectionFromKubeConfig(kc).options();
    expect(o.rejectUnauthorized).toBe(false);
    expect(o.headers.Authorization).toBe(`Basic ${b64('a:b')}`);
  });
});
