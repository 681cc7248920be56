// `kubectl spaces` (bin/kubectl-spaces.js, run as a separate process the way kubectl runs a
// plugin) against the real apiserver: first without the operator (render offline, create
// refusals before any API call, reach on hand-made policies), then with it (create → info,
// reach with a Peering and with a widening policy, render = what the operator applies and
// --diff = "no changes", doctor on an app without and with a ready pod).
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testKubeconfig } from '../support/cluster.ts';
import { repoRoot } from '../../tools/harness/binaries.ts';
import { startOperator, type Operator } from '../../src/operator.ts';
import { applyExamplesAndWait, getJson, kubectl, kubectlOk, waitFor } from '../support/kube.ts';
import { runProcess, type ProcessResult } from '../../tools/harness/process.ts';

const kubeconfig = testKubeconfig();
const run = Math.random().toString(36).slice(2, 7);
const bin = path.join(repoRoot, 'bin', 'kubectl-spaces.js');
const tmpDirs: string[] = [];

type CliResult = ProcessResult;

/** Runs `kubectl spaces ARGS` as kubectl would (a separate process), against the test cluster. */
function cli(args: string[], input = ''): Promise<CliResult> {
  return runProcess(process.execPath, [bin, '--kubeconfig', kubeconfig, ...args], {
    env: { ...process.env, KUBECONFIG: '' },
    input,
  });
}

/** Whether `live` holds every field of `want` with its value (arrays: same length, item by item). */
function covers(live: unknown, want: unknown): boolean {
  if (Array.isArray(want)) {
    return Array.isArray(live) && live.length === want.length && want.every((w, i) => covers(live[i], w));
  }
  if (want && typeof want === 'object') {
    if (!live || typeof live !== 'object') return false;
    return Object.entries(want).every(([k, v]) => covers((live as Record<string, unknown>)[k], v));
  }
  return isDeepStrictEqual(live, want);
}

const show = (r: CliResult): string => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

async function apply(yaml: string): Promise<void> {
  await kubectlOk(kubeconfig, ['apply', '-f', '-'], yaml);
}

async function tmpDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cli-test-'));
  tmpDirs.push(dir);
  return dir;
}

function spaceYaml(name: string, spec: string): string {
  return `apiVersion: privatespaces.dev/v1alpha1\nkind: Space\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
}

async function deleteSpaces(names: string[]): Promise<void> {
  for (const name of names) {
    await kubectl(kubeconfig, ['delete', 'space', name, '--ignore-not-found', '--wait=false']);
    await kubectl(kubeconfig, ['delete', 'namespace', name, '--ignore-not-found', '--wait=false']);
  }
}

afterAll(async () => {
  for (const dir of tmpDirs) await rm(dir, { recursive: true, force: true });
});

describe('errors that say what to do', () => {
  it('an unreachable API server: exit 1, with what to check', async () => {
    const dir = await tmpDir();
    const config = path.join(dir, 'kubeconfig');
    const text = await readFile(kubeconfig, 'utf8');
    await writeFile(
      config,
      text.replace(/server: https:\/\/127\.0\.0\.1:\d+/, 'server: https://127.0.0.1:1'),
    );
    const { code, stderr } = await runProcess(process.execPath, [bin, '--kubeconfig', config, 'info', 'x']);
    expect(code, stderr).toBe(1);
    expect(stderr).toContain('error: cannot reach the API server at https://127.0.0.1:1');
    expect(stderr).toContain('hint: check the cluster is up');
  });

  it('an unknown --context: exit 2, listing the known ones', async () => {
    const r = await cli(['--context', 'nope', 'info', 'x']);
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toContain('known contexts: local');
  });
});

describe('without the operator', () => {
  const fir = `cli-${run}-fir`;
  const hand = `cli-${run}-hand`;
  const other = `cli-${run}-other`;

  afterAll(async () => {
    await deleteSpaces([fir, hand]);
    await kubectl(kubeconfig, ['delete', 'namespace', other, '--ignore-not-found', '--wait=false']);
  });

  it('render -f prints the children offline, and refuses what the webhook would refuse (exit 3)', async () => {
    const dir = await tmpDir();
    const space = `cli-${run}-render`;
    await writeFile(
      path.join(dir, 'space.yaml'),
      spaceYaml(space, '  cidr: 10.31.0.0/16\n') +
        `\n---\napiVersion: privatespaces.dev/v1alpha1\nkind: App\nmetadata:\n  name: api\n  namespace: ${space}\n` +
        'spec:\n  internalRouting: true\n',
    );
    const r = await cli(['render', '-f', dir, '-o', 'json']);
    expect(r.code, show(r)).toBe(0);
    const list = JSON.parse(r.stdout) as { items: { kind: string; spec?: { type?: string } }[] };
    expect(list.items.map((o) => o.kind)).toEqual(['Namespace', 'NetworkPolicy', 'Service', 'NetworkPolicy']);
    expect(list.items[2]?.spec?.type).toBe('ClusterIP');

    await writeFile(
      path.join(dir, 'space.yaml'),
      spaceYaml(space, '  cidr: 10.31.0.0/16\n  generation: fir\n'),
      {
        flag: 'w',
      },
    );
    await writeFile(
      path.join(dir, 'app.yaml'),
      `apiVersion: privatespaces.dev/v1alpha1\nkind: App\nmetadata:\n  name: api\n  namespace: ${space}\n` +
        'spec:\n  internalRouting: true\n',
    );
    const refused = await cli(['render', '-f', dir]);
    expect(refused.code, show(refused)).toBe(3);
    expect(refused.stderr).toContain('Internal Routing is not available in fir spaces');
  });

  it('create app refuses, before calling the API, what the webhook would refuse (exit 3)', async () => {
    await apply(spaceYaml(fir, '  cidr: 10.32.0.0/16\n  generation: fir\n'));
    const r = await cli(['create', 'app', 'web', '--space', fir, '--internal-routing', '--dry-run=client']);
    expect(r.code, show(r)).toBe(3);
    expect(r.stderr).toContain(`App ${fir}/web refused:`);
    expect(r.stderr).toContain('spec.internalRouting: Internal Routing is not available in fir spaces');
    expect(r.stderr).toContain('hint: nothing was sent to the API server');

    const acm = await cli(['create', 'app', 'web', '--space', fir, '--acm', '--internal-routing']);
    expect(acm.code, show(acm)).toBe(3);
    // Nothing reached the API server (no dry run there: the namespace does not even exist).
    expect(await getJson(kubeconfig, ['apps.privatespaces.dev', 'web', '-n', fir])).toBeUndefined();

    const ok = await cli(['create', 'app', 'web', '--space', fir, '--dry-run=client']);
    expect(ok.code, show(ok)).toBe(0);
    expect(ok.stdout).toContain('app.privatespaces.dev/web created (dry run)');

    const server = await cli(['create', 'app', 'web', '--space', fir, '--dry-run=server']);
    expect(server.code, show(server)).toBe(1);
    expect(server.stderr).toContain(`namespace "${fir}" of Space ${fir} does not exist yet`);

    const missing = await cli(['create', 'app', 'web', '--space', `cli-${run}-nope`]);
    expect(missing.code, show(missing)).toBe(1);
    expect(missing.stderr).toMatch(/Space "cli-.*-nope" not found/);
  });

  it('reach on hand-made NetworkPolicies: the Space and active peerings; a widening policy is flagged (exit 4)', async () => {
    await apply(spaceYaml(hand, '  cidr: 10.33.0.0/16\n  trustedIPRanges: [203.0.113.0/24]\n'));
    await kubectlOk(kubeconfig, ['create', 'namespace', hand]);
    await kubectlOk(kubeconfig, ['create', 'namespace', other]);
    await apply(
      `apiVersion: privatespaces.dev/v1alpha1\nkind: App\nmetadata: {name: billing, namespace: ${hand}}\n` +
        'spec: {internalRouting: true}\n---\n' +
        `apiVersion: privatespaces.dev/v1alpha1\nkind: Peering\nmetadata: {name: office, namespace: ${hand}}\n` +
        'spec: {type: vpc, cidrs: [192.168.61.0/24]}\n---\n' +
        `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: ${hand}}\n` +
        'spec: {podSelector: {}, policyTypes: [Ingress]}\n---\n' +
        `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: billing, namespace: ${hand}}\n` +
        'spec:\n  podSelector: {matchLabels: {privatespaces.dev/app: billing}}\n  ingress:\n' +
        `  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ${hand}}}}]\n` +
        '  - from: [{ipBlock: {cidr: 192.168.61.0/24}}]\n    ports: [{port: 5000}]\n',
    );
    await kubectlOk(kubeconfig, [
      ...['patch', 'peering', 'office', '-n', hand, '--subresource=status', '--type=merge'],
      ...['-p', '{"status":{"phase":"active"}}'],
    ]);

    const ok = await cli(['reach', 'billing', '-n', hand]);
    expect(ok.code, show(ok)).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`namespace/${hand}\\s+all\\s+${hand}/billing`));
    expect(ok.stdout).toMatch(new RegExp(`cidr/192.168.61.0/24\\s+5000/TCP\\s+${hand}/billing`));
    expect(ok.stdout).toContain('Not exposed');

    await apply(
      `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: let-other-in, namespace: ${hand}}\n` +
        `spec:\n  podSelector: {}\n  ingress:\n  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ${other}}}}]\n`,
    );
    const exposed = await cli(['reach', 'billing', '-n', hand]);
    expect(exposed.code, show(exposed)).toBe(4);
    expect(exposed.stdout).toMatch(
      new RegExp(`namespace/${other}\\s+all\\s+${hand}/let-other-in\\s+EXPOSED`),
    );
    const json = await cli(['reach', 'billing', '-n', hand, '-o', 'json']);
    expect(json.code).toBe(4);
    const view = JSON.parse(json.stdout) as { exposed: boolean; widenings: { policy: string }[] };
    expect(view.exposed).toBe(true);
    expect(view.widenings.map((w) => w.policy)).toEqual([`${hand}/let-other-in`]);

    const wrongNs = await cli(['reach', 'billing']);
    expect(wrongNs.code, show(wrongNs)).toBe(1);
    expect(wrongNs.stderr).toContain(`pass -n ${hand}`);
  });
});

describe('with the operator', () => {
  const space = `cli-${run}-op`;
  const example = `cli-${run}-ex`;
  const node = `cli-${run}-node`;
  let op: Operator;

  beforeAll(async () => {
    op = await startOperator({
      kubeconfigPath: kubeconfig,
      namespace: 'default',
      webhook: false,
      healthPort: 0,
      leaderElection: false,
      dns: true,
      settings: { allowedDnsSuffixes: ['internal', 'example', 'cli.test'] },
    });
    await op.ready;
    // A fake Node for a pod to "run" on; the test writes the pod's status as a kubelet would.
    await apply(`apiVersion: v1\nkind: Node\nmetadata:\n  name: ${node}\n`);
    await apply(spaceYaml(space, '  cidr: 10.41.0.0/16\n  trustedIPRanges: [203.0.113.0/24]\n'));
    await kubectlOk(kubeconfig, ['wait', '--for=condition=Ready', `space/${space}`, '--timeout=60s']);
  });

  afterAll(async () => {
    await deleteSpaces([space, example]);
    await kubectl(kubeconfig, ['delete', 'node', node, '--ignore-not-found', '--wait=false']);
    await op?.stop();
  });

  it('create app --internal-routing prints its names; info then shows it', async () => {
    const r = await cli([
      'create',
      'app',
      'api',
      '--space',
      space,
      '--internal-routing',
      '--domain',
      'api.cli.test',
    ]);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain(`app.privatespaces.dev/api created in Space ${space}`);
    expect(r.stdout).toContain(`Default domain:  api.${space}.spaces.local`);
    expect(r.stdout).toContain('Custom domains:  api.cli.test');
    expect(r.stdout).toContain('Discovery name:  web.api.app.localspace');
    await kubectlOk(kubeconfig, [
      'wait',
      '--for=condition=Ready',
      'apps.privatespaces.dev/api',
      '-n',
      space,
      '--timeout=60s',
    ]);

    const again = await cli(['create', 'app', 'api', '--space', space, '--internal-routing']);
    expect(again.code, show(again)).toBe(1);
    expect(again.stderr).toContain(`App ${space}/api already exists`);

    const info = await cli(['info', space]);
    expect(info.code, show(info)).toBe(0);
    expect(info.stdout).toContain(
      'Dyno subnets:       10.41.0.0/20, 10.41.16.0/20, 10.41.128.0/20, 10.41.144.0/20',
    );
    expect(info.stdout).toContain('Peer route:         10.41.0.0/16');
    expect(info.stdout).toMatch(/api\s+internal\s+True\s+5000\s+/);
    const json = JSON.parse((await cli(['info', space, '-o', 'json'])).stdout) as {
      space: { state: string };
      apps: { name: string; routing: string; ready: string; names: string[] }[];
    };
    expect(json.space.state).toBe('allocated');
    expect(json.apps).toEqual([
      expect.objectContaining({
        name: 'api',
        routing: 'internal',
        ready: 'True',
        names: [`api.${space}.spaces.local`, 'api.cli.test', 'web.api.app.localspace'],
      }),
    ]);
  });

  it("reach on an internal app lists the Space and the Peering's CIDRs, not the trusted ranges", async () => {
    await apply(
      `apiVersion: privatespaces.dev/v1alpha1\nkind: Peering\nmetadata: {name: office, namespace: ${space}}\n` +
        'spec: {type: vpc, cidrs: [192.168.62.0/24]}\n',
    );
    await kubectlOk(kubeconfig, [
      'wait',
      '--for=condition=Ready',
      'peering/office',
      '-n',
      space,
      '--timeout=60s',
    ]);
    const info = await cli(['info', space]);
    expect(info.stdout).toMatch(/office\s+vpc\s+192\.168\.62\.0\/24\s+active/);

    const view = await waitFor(
      'the Peering CIDR in the reach',
      async () => {
        const r = await cli(['reach', 'api', '-n', space, '-o', 'json']);
        const v = JSON.parse(r.stdout) as { reachableFrom: { source: string }[]; exposed: boolean };
        return v.reachableFrom.some((x) => x.source === 'cidr/192.168.62.0/24') ? { r, v } : undefined;
      },
      30_000,
    );
    expect(view.r.code, show(view.r)).toBe(0);
    expect(view.v.exposed).toBe(false);
    expect(view.v.reachableFrom.map((x) => x.source).sort()).toEqual(
      [`namespace/${space}`, 'cidr/192.168.62.0/24'].sort(),
    );
    expect(view.r.stdout).not.toContain('203.0.113');
  });

  it('after a widening policy is created (no webhook), reach flags it with exit 4', async () => {
    await apply(
      `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: open-to-all, namespace: ${space}}\n` +
        'spec:\n  podSelector: {matchLabels: {privatespaces.dev/app: api}}\n  ingress:\n  - from: [{ipBlock: {cidr: 0.0.0.0/0}}]\n',
    );
    const r = await cli(['reach', 'api', '-n', space]);
    expect(r.code, show(r)).toBe(4);
    expect(r.stdout).toMatch(new RegExp(`cidr/0\\.0\\.0\\.0/0\\s+all\\s+${space}/open-to-all\\s+EXPOSED`));
    expect(r.stdout).toContain(`kubectl -n ${space} get networkpolicy open-to-all -o yaml`);
    await kubectlOk(kubeconfig, ['delete', 'networkpolicy', 'open-to-all', '-n', space]);
    const after = await cli(['reach', 'api', '-n', space]);
    expect(after.code, show(after)).toBe(0);
  });

  it('doctor: an app with no ready pod says so (exit 4); once a pod is Ready, no problem (exit 0)', async () => {
    const r = await cli(['doctor', 'api', '-n', space]);
    expect(r.code, show(r)).toBe(4);
    expect(r.stdout).toContain(
      'the web process has no ready endpoint (0 pod(s) labelled privatespaces.dev/app=api, 0 Ready)',
    );
    expect(r.stdout).toContain(`Policies:   ${space}/app-api, ${space}/space-default-deny`);

    await apply(
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: api-web-1\n  namespace: ${space}\n` +
        '  labels: {privatespaces.dev/app: api, privatespaces.dev/process: web}\n' +
        `spec:\n  nodeName: ${node}\n  containers: [{name: web, image: registry.invalid/web:1, ports: [{containerPort: 5000}]}]\n`,
    );
    const notReady = await cli(['doctor', 'api', '-n', space]);
    expect(notReady.stdout).toContain('1 pod(s) labelled privatespaces.dev/app=api, 0 Ready');
    const now = new Date().toISOString();
    const ready = { type: 'Ready', status: 'True', lastTransitionTime: now };
    await kubectlOk(kubeconfig, [
      ...['patch', 'pod', 'api-web-1', '-n', space, '--subresource=status', '--type=merge', '-p'],
      JSON.stringify({
        status: {
          phase: 'Running',
          podIP: '10.41.0.7',
          podIPs: [{ ip: '10.41.0.7' }],
          conditions: [ready, { ...ready, type: 'ContainersReady' }],
        },
      }),
    ]);
    let last: CliResult | undefined;
    await waitFor(
      'doctor finding no problem',
      async () => {
        last = await cli(['doctor', 'api', '-n', space]);
        return last.code === 0;
      },
      60_000,
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n${last ? show(last) : ''}`);
    });
    expect(last?.stdout).toContain('Endpoints:  1 ready of 1');
    expect(last?.stdout).toContain('No problems found.');
    // The operator's DNS controller published every name: router names at the Service's ClusterIP,
    // the discovery name at the web pod itself (issue 19).
    const svc = await getJson<{ spec: { clusterIP: string } }>(kubeconfig, ['service', 'api', '-n', space]);
    expect(last?.stdout).toMatch(/web\.api\.app\.localspace\s+published -> \d+\.\d+\.\d+\.\d+/);
    for (const name of [`api.${space}.spaces.local`, 'api.cli.test']) {
      expect(last?.stdout).toMatch(
        new RegExp(`${name.replaceAll('.', '\\.')}\\s+published -> ${svc?.spec.clusterIP ?? '?'}`),
      );
    }
  });

  it('render -f examples/ prints the Service and NetworkPolicy specs the operator applies; --diff: no changes', async () => {
    const dir = await tmpDir();
    await cp(path.join(repoRoot, 'examples'), dir, { recursive: true });
    for (const f of await readdir(dir)) {
      const file = path.join(dir, f);
      const text = await readFile(file, 'utf8');
      await writeFile(file, text.replaceAll('acme', example).replaceAll('10.20.', '10.42.'));
    }
    await applyExamplesAndWait(kubeconfig, { dir, space: example, timeout: '60s' });

    const r = await cli(['render', '-f', dir, '-o', 'json']);
    expect(r.code, show(r)).toBe(0);
    const rendered = (
      JSON.parse(r.stdout) as {
        items: { kind: string; metadata: { name: string }; spec: Record<string, unknown> }[];
      }
    ).items.filter((o) => o.kind === 'Service' || o.kind === 'NetworkPolicy');
    expect(rendered.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'NetworkPolicy/app-billing',
      'NetworkPolicy/app-www',
      'NetworkPolicy/space-default-deny',
      'Service/billing',
      'Service/www',
    ]);
    for (const o of rendered) {
      const get = (): Promise<{ spec: Record<string, unknown> } | undefined> =>
        getJson(kubeconfig, [o.kind.toLowerCase(), o.metadata.name, '-n', example]);
      // The operator admits the Peering's CIDR once the Peering is active: allow it to converge.
      const live = await waitFor(
        `${o.kind} ${o.metadata.name}: the live spec covering the rendered one`,
        async () => {
          const l = await get();
          return l && covers(l.spec, o.spec) ? l : undefined;
        },
        30_000,
      ).catch(async () => (await get()) ?? { spec: {} });
      // The live spec holds every rendered field with the rendered value (plus the API server's
      // own: clusterIP, nodePort, sessionAffinity, …).
      expect(covers(live.spec, o.spec), `${o.kind}/${o.metadata.name}: ${JSON.stringify(live.spec)}`).toBe(
        true,
      );
    }

    const diff = await waitFor(
      'render --diff: no changes',
      async () => {
        const d = await cli(['render', '-f', dir, '--diff']);
        return d.stdout.trim() === 'no changes' ? d : undefined;
      },
      30_000,
    ).catch(async (err: unknown) => {
      throw new Error(`${(err as Error).message}\n${show(await cli(['render', '-f', dir, '--diff']))}`);
    });
    expect(diff.code).toBe(0);

    const apps = path.join(dir, (await readdir(dir)).find((f) => f.includes('apps')) ?? 'apps.yaml');
    await writeFile(apps, (await readFile(apps, 'utf8')).replace('port: 5000', 'port: 5001'));
    const changed = await cli(['render', '-f', dir, '--diff']);
    expect(changed.code, show(changed)).toBe(0);
    expect(changed.stdout).toContain(`+++ rendered/v1/Service/${example}/billing`);
    expect(changed.stdout).toMatch(/^-\s+port: 5000$/m);
    expect(changed.stdout).toMatch(/^\+\s+port: 5001$/m);
    // A dry run: nothing changed in the cluster.
    const svc = await getJson<{ spec: { ports: { port: number }[] } }>(kubeconfig, [
      'service',
      'billing',
      '-n',
      example,
    ]);
    expect(svc?.spec.ports[0]?.port).toBe(5000);
  });
});
