// The reconcile engine's operational promises against a real control plane:
//  1. an operator SIGKILLed halfway through 200 Apps and started again converges, with exactly
//     one Service and one NetworkPolicy per App, each owned by the App as it exists now;
//  2. with two replicas and --leader-elect only the Lease holder writes, and when it is
//     SIGKILLed the standby takes over once the Lease expires and reconciles what changed;
//  3. a leader whose Lease is taken from it does not win it back as a leader that reconciles
//     nothing (it exits for its pod to restart clean);
//  4. watches broken by a kube-apiserver restart recover inside the same process.
// Operators 1 to 3 run as separate processes (`node src/main.ts`), as in a pod; 4 runs on its
// own control plane, since the shared one must not be restarted.
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testKubeconfig } from '../support/cluster.ts';
import { createLogger, KubeClient, listAll, metricValue } from '../../src/engine/index.ts';
import { repoRoot } from '../../tools/harness/binaries.ts';
import { startControlPlane, type ControlPlane } from '../../tools/harness/controlplane.ts';
import { freePort } from '../../tools/harness/process.ts';
import { startOperator, type Operator } from '../../src/operator.ts';
import { getJson, kubectl, kubectlOk, namespaceGone, waitFor } from '../support/kube.ts';
import {
  killAllOperators,
  metricFromText,
  startOperatorProcess,
  type OperatorProcess,
} from '../support/operator-process.ts';

const kubeconfig = testKubeconfig();
const id = Math.random().toString(36).slice(2, 7);
const GROUP = 'privatespaces.dev/v1alpha1';

interface Obj {
  metadata: {
    name: string;
    namespace?: string;
    uid: string;
    generation?: number;
    labels?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
  };
  spec?: any;
  status?: any;
}

const readyCondition = (o: Obj): boolean =>
  (o.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True') &&
  o.status?.observedGeneration === o.metadata.generation;

function spaceYaml(name: string, octet: number): string {
  return `apiVersion: v1
kind: Namespace
metadata:
  name: ${name}
  annotations: { privatespaces.dev/adopt: ${name} }
  labels: { pod-security.kubernetes.io/enforce: baseline, pod-security.kubernetes.io/enforce-version: latest, pod-security.kubernetes.io/warn: baseline, pod-security.kubernetes.io/audit: baseline }
---
apiVersion: ${GROUP}
kind: Space
metadata: { name: ${name} }
spec: { cidr: 10.${octet}.0.0/16, trustedIPRanges: [203.0.113.0/24] }
`;
}

function appYaml(ns: string, name: string, internal: boolean): string {
  return `---
apiVersion: ${GROUP}
kind: App
metadata: { name: ${name}, namespace: ${ns} }
spec: { internalRouting: ${internal}, port: ${internal ? 5000 : 8080} }
`;
}

const octet = (): number => 100 + Math.floor(Math.random() * 100);

const forgotten: string[] = [];

/** Starts deleting Spaces and their namespaces; the file's afterAll waits until they are gone. */
async function forget(kc: string, names: string[]): Promise<void> {
  for (const n of names) {
    forgotten.push(n);
    await kubectl(kc, ['delete', 'space', n, '--ignore-not-found', '--wait=false']);
    await kubectl(kc, ['delete', 'namespace', n, '--ignore-not-found', '--wait=false']);
  }
}

afterEach(async () => {
  // Whatever happened, no operator process outlives its test.
  await killAllOperators();
});

afterAll(async () => {
  await killAllOperators();
  // Leave no terminating namespace behind for the next file's operator to trip over.
  await Promise.all(forgotten.map((n) => namespaceGone(kubeconfig, n)));
});

describe('an operator SIGKILLed in the middle of 200 Apps', () => {
  const ns = `res-crash-${id}`;
  afterAll(async () => {
    await killAllOperators();
    await forget(kubeconfig, [ns]);
  });

  it('converges after a restart: every App Ready, one owned Service and NetworkPolicy each, nothing else', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const api = new KubeClient(kc);
    const appsPath = `/apis/${GROUP}/namespaces/${ns}/apps`;
    const listApps = async (): Promise<Obj[]> => (await listAll<any>(api, appsPath)).items as Obj[];

    const names = Array.from({ length: 200 }, (_, i) => `a${String(i).padStart(3, '0')}`);
    const internal = (i: number): boolean => i % 2 === 0;
    await kubectlOk(
      kubeconfig,
      ['apply', '-f', '-'],
      spaceYaml(ns, octet()) + names.map((n, i) => appYaml(ns, n, internal(i))).join(''),
    );
    expect(await listApps()).toHaveLength(200);

    const t0 = Date.now();
    const secs = (): string => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
    const first = startOperatorProcess(kubeconfig, {
      name: `res-first-${id}`,
      args: ['--no-webhook', '--health-port', '0', '--namespace', 'default'],
    });
    await waitFor(
      'the first Apps Ready',
      async () => {
        if (first.dead()) throw new Error(`operator exited:\n${first.output()}`);
        return (await listApps()).filter(readyCondition).length >= 10;
      },
      60_000,
    );
    await first.kill('SIGKILL');
    expect(first.child.signalCode).toBe('SIGKILL');

    const atKill = await listApps();
    const readyAtKill = atKill.filter(readyCondition).length;
    expect(readyAtKill, 'killed after some but before all Apps were Ready').toBeGreaterThan(0);
    expect(readyAtKill, 'killed after some but before all Apps were Ready').toBeLessThan(200);
    const svcUidAtKill = new Map<string, string>(
      ((await getJson(kubeconfig, ['services', '-n', ns]))?.items ?? []).map((s: Obj) => [
        s.metadata.name,
        s.metadata.uid,
      ]),
    );
    console.log(
      `[resilience] SIGKILL at ${secs()}: ${readyAtKill}/200 Apps Ready, ${svcUidAtKill.size} Services`,
    );

    // While no operator runs: three Apps are deleted and created again with the other kind of
    // routing (same names, new uids), three are deleted for good, three new ones appear.
    const recreated = names.slice(0, 3);
    const removed = names.slice(3, 6);
    const added = ['b000', 'b001', 'b002'];
    const oldUid = new Map(atKill.map((a) => [a.metadata.name, a.metadata.uid]));
    await kubectlOk(kubeconfig, ['delete', 'apps.privatespaces.dev', '-n', ns, ...recreated, ...removed]);
    await kubectlOk(
      kubeconfig,
      ['apply', '-f', '-'],
      [
        ...recreated.map((n) => appYaml(ns, n, !internal(names.indexOf(n)))),
        ...added.map((n) => appYaml(ns, n, true)),
      ].join(''),
    );

    const second = startOperatorProcess(kubeconfig, {
      name: `res-second-${id}`,
      args: ['--no-webhook', '--health-port', '0', '--namespace', 'default'],
    });
    // What `kubectl wait --for=condition=Ready apps --all` checks (plus observedGeneration), by
    // LIST: kubectl waits on 200 objects one at a time, which alone takes some 40 s here.
    await waitFor(
      'all 200 Apps Ready',
      async () => {
        if (second.dead()) throw new Error(`operator exited:\n${second.output()}`);
        return (await listApps()).filter(readyCondition).length === 200;
      },
      90_000,
    );
    expect(second.dead(), second.output()).toBe(false);
    console.log(`[resilience] all Apps Ready at ${secs()}`);

    const apps = await listApps();
    expect(apps).toHaveLength(200);
    expect(apps.filter(readyCondition)).toHaveLength(200);
    const byName = new Map(apps.map((a) => [a.metadata.name, a]));
    for (const n of recreated) expect(byName.get(n)?.metadata.uid).not.toBe(oldUid.get(n));
    for (const n of removed) expect(byName.has(n)).toBe(false);

    // The children, checked until the garbage collector has removed those of the deleted Apps.
    const problems = async (): Promise<string[]> => {
      const out: string[] = [];
      const services: Obj[] = (await getJson(kubeconfig, ['services', '-n', ns]))?.items ?? [];
      const policies: Obj[] = (await getJson(kubeconfig, ['networkpolicies', '-n', ns]))?.items ?? [];
      const ownedBy = (child: Obj, app: Obj | undefined, what: string): void => {
        const refs = child.metadata.ownerReferences ?? [];
        if (!app) return void out.push(`${what} has no App`);
        if (refs.length !== 1) return void out.push(`${what} has ${refs.length} owner references`);
        const [r] = refs;
        if (
          r!.kind !== 'App' ||
          r!.name !== app.metadata.name ||
          r!.uid !== app.metadata.uid ||
          !r!.controller
        )
          out.push(
            `${what} is owned by ${r!.kind}/${r!.name} ${r!.uid}, not the App's uid ${app.metadata.uid}`,
          );
      };
      if (services.length !== 200) out.push(`${services.length} Services`);
      const seenSvc = new Set<string>();
      for (const s of services) {
        const app = byName.get(s.metadata.name);
        ownedBy(s, app, `Service ${s.metadata.name}`);
        seenSvc.add(s.metadata.name);
        if (!app) continue;
        const wantType = app.spec.internalRouting ? 'ClusterIP' : 'LoadBalancer';
        if (s.spec.type !== wantType)
          out.push(`Service ${s.metadata.name} is ${s.spec.type}, not ${wantType}`);
        if (app.status?.clusterIP !== s.spec.clusterIP)
          out.push(
            `App ${app.metadata.name} reports ClusterIP ${app.status?.clusterIP}, Service has ${s.spec.clusterIP}`,
          );
      }
      const appPolicies = policies.filter((p) => p.metadata.name !== 'space-default-deny');
      if (appPolicies.length !== 200) out.push(`${appPolicies.length} app NetworkPolicies`);
      if (!policies.some((p) => p.metadata.name === 'space-default-deny')) out.push('no default deny');
      for (const p of appPolicies) {
        const app = byName.get(p.metadata.name.replace(/^app-/, ''));
        ownedBy(p, p.metadata.name.startsWith('app-') ? app : undefined, `NetworkPolicy ${p.metadata.name}`);
      }
      for (const n of byName.keys()) if (!seenSvc.has(n)) out.push(`App ${n} has no Service`);
      return out;
    };
    let last: string[] = [];
    let firstSeen: string[] | undefined;
    await waitFor(
      'children converged',
      async () => {
        last = await problems();
        firstSeen ??= last;
        return last.length === 0;
      },
      90_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${last.slice(0, 20).join('\n')}`);
    });
    expect(await problems()).toEqual([]);
    if (firstSeen?.length)
      console.log(`[resilience] once all Apps were Ready, waited for: ${firstSeen.slice(0, 8).join('; ')}`);
    const finalSvc: Obj[] = (await getJson(kubeconfig, ['services', '-n', ns]))?.items ?? [];
    const kept = recreated.filter(
      (n) => finalSvc.find((s) => s.metadata.name === n)?.metadata.uid === svcUidAtKill.get(n),
    );
    console.log(
      `[resilience] children converged at ${secs()}; Services of re-created Apps adopted in place: ${kept.join(', ') || 'none'}`,
    );
  });
});

describe('two replicas with --leader-elect', () => {
  const leaseNs = `res-lease-${id}`;
  const ns = `res-le-${id}`;
  afterAll(async () => {
    await killAllOperators();
    await forget(kubeconfig, [ns, leaseNs]);
  });

  it('only the Lease holder writes; the standby takes over within ~25 s of a SIGKILL', async () => {
    await kubectlOk(kubeconfig, ['create', 'namespace', leaseNs]);
    const args = ['--leader-elect', '--namespace', leaseNs, '--no-webhook'];
    const replicas = [
      startOperatorProcess(kubeconfig, { name: `res-a-${id}`, args, healthPort: await freePort() }),
      startOperatorProcess(kubeconfig, { name: `res-b-${id}`, args, healthPort: await freePort() }),
    ];
    const holder = async (): Promise<string> =>
      (await getJson(kubeconfig, ['lease', 'spaces-operator', '-n', leaseNs]))?.spec?.holderIdentity ?? '';
    const first = await waitFor(
      'a leader',
      async () => {
        for (const r of replicas) if (r.dead()) throw new Error(`${r.name} exited:\n${r.output()}`);
        return (await holder()) || undefined;
      },
      30_000,
    );
    const leader = replicas.find((r) => r.name === first);
    const standby = replicas.find((r) => r.name !== first) as OperatorProcess;
    expect(leader, `Lease held by ${first}`).toBeDefined();
    await waitFor(
      'both replicas ready',
      async () => (await leader!.ready()) && (await standby.ready()),
      30_000,
    );

    await kubectlOk(
      kubeconfig,
      ['apply', '-f', '-'],
      spaceYaml(ns, octet()) +
        ['one', 'two', 'three', 'four'].map((n, i) => appYaml(ns, n, i % 2 === 0)).join(''),
    );
    await kubectlOk(kubeconfig, ['wait', '--for=condition=Ready', `space/${ns}`, '--timeout=30s']);
    await kubectlOk(kubeconfig, [
      'wait',
      '--for=condition=Ready',
      'apps.privatespaces.dev',
      '--all',
      '-n',
      ns,
      '--timeout=30s',
    ]);

    const writes = async (r: OperatorProcess): Promise<number> => {
      const text = await r.metrics();
      return (
        metricFromText(text, 'spaces_apply_total', { result: 'written' }) +
        metricFromText(text, 'spaces_status_patch_total', { result: 'written' }) +
        metricFromText(text, 'spaces_events_total', { result: 'emitted' })
      );
    };
    const lease = { lease: `${leaseNs}/spaces-operator` };
    expect(await leader!.metric('spaces_leader', lease)).toBe(1);
    expect(await standby.metric('spaces_leader', lease)).toBe(0);
    expect(await leader!.metric('spaces_apply_total', { result: 'written' })).toBeGreaterThanOrEqual(10);
    expect(await writes(standby), 'writes by the standby').toBe(0);
    // The Space's Event names the instance that reconciled it.
    const events: any[] = (await getJson(kubeconfig, ['events.events.k8s.io', '-n', 'default']))?.items ?? [];
    const ours = events.filter((e) => e.regarding?.kind === 'Space' && e.regarding?.name === ns);
    expect(ours.length).toBeGreaterThan(0);
    expect(new Set(ours.map((e) => e.reportingInstance))).toEqual(new Set([leader!.name]));

    // The leader dies without releasing the Lease; a change made afterwards must still happen.
    await leader!.kill('SIGKILL');
    const killedAt = Date.now();
    await kubectlOk(kubeconfig, ['apply', '-f', '-'], appYaml(ns, 'late', true));
    await waitFor(
      'the standby holding the Lease',
      async () => {
        if (standby.dead()) throw new Error(`${standby.name} exited:\n${standby.output()}`);
        return (await holder()) === standby.name;
      },
      25_000,
    );
    const tookOver = (Date.now() - killedAt) / 1000;
    const late = await waitFor(
      'App late Ready under the new leader',
      async () => {
        const app = await getJson<Obj>(kubeconfig, ['apps.privatespaces.dev', 'late', '-n', ns]);
        return app && readyCondition(app) ? app : undefined;
      },
      Math.max(1000, 25_000 - (Date.now() - killedAt)),
    );
    const readyAfter = (Date.now() - killedAt) / 1000;
    console.log(
      `[resilience] standby took the Lease ${tookOver.toFixed(1)} s and reconciled ${readyAfter.toFixed(1)} s after the kill`,
    );
    // Not before the dead leader's Lease (15 s, last renewed at most 2 s before the kill) expired.
    expect(tookOver).toBeGreaterThanOrEqual(12);
    expect(late.status.clusterIP).toBeTruthy();
    expect(await standby.metric('spaces_leader', lease)).toBe(1);
    expect(await standby.metric('spaces_apply_total', { result: 'written' })).toBeGreaterThan(0);
    const svc = await getJson<Obj>(kubeconfig, ['service', 'late', '-n', ns]);
    expect(svc?.metadata.ownerReferences?.[0]?.uid).toBe(late.metadata.uid);
  });
});

describe('a leader that loses its Lease', () => {
  const leaseNs = `res-steal-lease-${id}`;
  const ns = `res-steal-${id}`;
  afterAll(async () => {
    await killAllOperators();
    await forget(kubeconfig, [ns, leaseNs]);
  });

  // What happens to a leader cut off for longer than the renew deadline (an API server
  // outage, a partition) while another instance takes the Lease: it must not come back as a
  // leader that reconciles nothing. Whether it resumes or exits for its pod to restart clean,
  // the cluster must be reconciled again. Here the Lease is taken from it by hand (for 5 s), and
  // the test restarts the process if it exits, as the kubelet would.
  it('does not keep the Lease without reconciling', async () => {
    await kubectlOk(kubeconfig, ['create', 'namespace', leaseNs]);
    const name = `res-steal-${id}`;
    const args = ['--leader-elect', '--namespace', leaseNs, '--no-webhook'];
    const launch = async (): Promise<OperatorProcess> =>
      startOperatorProcess(kubeconfig, { name, args, healthPort: await freePort() });
    let proc = await launch();
    const lease = async (): Promise<any> => getJson(kubeconfig, ['lease', 'spaces-operator', '-n', leaseNs]);
    await waitFor('leading', async () => (await lease())?.spec?.holderIdentity === name, 30_000);
    await kubectlOk(kubeconfig, ['apply', '-f', '-'], spaceYaml(ns, octet()) + appYaml(ns, 'first', true));
    await kubectlOk(kubeconfig, [
      'wait',
      '--for=condition=Ready',
      'apps.privatespaces.dev/first',
      '-n',
      ns,
      '--timeout=30s',
    ]);

    const microNow = new Date().toISOString().replace(/Z$/, '000Z');
    await kubectlOk(kubeconfig, [
      'patch',
      'lease',
      'spaces-operator',
      '-n',
      leaseNs,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { holderIdentity: 'res-thief', leaseDurationSeconds: 5, renewTime: microNow } }),
    ]);
    const stolenAt = Date.now();
    // Its next renewal (every 2 s) finds the Lease taken: it stops leading (or exits).
    const leaseLabel = { lease: `${leaseNs}/spaces-operator` };
    await waitFor(
      'leadership lost',
      async () => proc.dead() || (await proc.metric('spaces_leader', leaseLabel).catch(() => 1)) === 0,
      10_000,
    );
    await kubectlOk(kubeconfig, ['apply', '-f', '-'], appYaml(ns, 'second', false));
    let restarts = 0;
    const second = await waitFor(
      'App second Ready after the Lease was lost',
      async () => {
        if (proc.dead()) {
          restarts++;
          proc = await launch();
        }
        const app = await getJson<Obj>(kubeconfig, ['apps.privatespaces.dev', 'second', '-n', ns]);
        return app && readyCondition(app) ? app : undefined;
      },
      40_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\nLease holder: ${name}?\n${proc.output().slice(-3000)}`);
    });
    console.log(
      `[resilience] Lease lost; reconciling again ${((Date.now() - stolenAt) / 1000).toFixed(1)} s later, after ${restarts} restart(s)`,
    );
    expect(second.status.clusterIP).toBeTruthy();
    expect((await lease())?.spec?.holderIdentity).toBe(name);
  });
});

describe('a kube-apiserver restart', () => {
  let cp: ControlPlane | undefined;
  let op: Operator | undefined;
  const ns = 'res-restart';

  beforeAll(async () => {
    cp = await startControlPlane({ controllerManager: false });
    const crds = await cp.kubectl(['apply', '--server-side', '-k', path.join(repoRoot, 'crds')]);
    if (crds.code !== 0) throw new Error(`installing CRDs failed: ${crds.stderr}`);
    await cp.kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
    op = await startOperator({
      kubeconfigPath: cp.kubeconfigPath,
      namespace: 'default',
      webhook: false,
      healthPort: undefined,
      logger: createLogger({ level: process.env['LOG_LEVEL'] ?? 'warn' }),
    });
    await op.ready;
  });

  afterAll(async () => {
    await op?.stop();
    await cp?.stop();
  });

  it('breaks the watches, and the same process recovers: a new App becomes Ready, a hand edit is reverted', async () => {
    const c = cp!;
    const k = c.kubeconfigPath;
    await kubectlOk(k, ['apply', '-f', '-'], spaceYaml(ns, 30) + appYaml(ns, 'before', true));
    await kubectlOk(k, [
      'wait',
      '--for=condition=Ready',
      'apps.privatespaces.dev/before',
      '-n',
      ns,
      '--timeout=30s',
    ]);

    const broken = async (): Promise<number> => {
      let n = 0;
      for (const informer of ['apps', 'services', 'networkpolicies']) {
        n += await metricValue('spaces_informer_watch_errors_total', { informer });
        n += await metricValue('spaces_informer_lists_total', { informer });
      }
      return n;
    };
    const brokenBefore = await broken();
    const restartStart = Date.now();
    await c.restartApiserver();
    const restartedAt = Date.now();
    console.log(
      `[resilience] kube-apiserver restarted in ${((restartedAt - restartStart) / 1000).toFixed(1)} s`,
    );

    await kubectlOk(k, ['apply', '-f', '-'], appYaml(ns, 'after', false));
    const after = await waitFor(
      'App after Ready',
      async () => {
        const app = await getJson<Obj>(k, ['apps.privatespaces.dev', 'after', '-n', ns]);
        return app && readyCondition(app) ? app : undefined;
      },
      30_000,
    );
    console.log(
      `[resilience] new App Ready ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after the restart`,
    );
    expect(after.status.clusterIP).toBeTruthy();
    // The watches did break (and were re-opened or re-listed), in this very process.
    expect(await broken()).toBeGreaterThan(brokenBefore);

    // A hand edit of a child made after the restart is put back.
    await kubectlOk(k, [
      'patch',
      'networkpolicy',
      'app-before',
      '-n',
      ns,
      '--type=json',
      '-p',
      '[{"op":"replace","path":"/spec/ingress","value":[{}]}]',
    ]);
    await waitFor(
      'hand edit reverted',
      async () => {
        const np = await getJson(k, ['networkpolicy', 'app-before', '-n', ns]);
        return np && (np.spec.ingress ?? []).every((r: any) => (r.from ?? []).length > 0);
      },
      20_000,
    );
    // And a deleted Service comes back.
    const svc = await getJson<Obj>(k, ['service', 'after', '-n', ns]);
    await kubectlOk(k, ['delete', 'service', 'after', '-n', ns]);
    await waitFor(
      'Service recreated',
      async () => {
        const s = await getJson<Obj>(k, ['service', 'after', '-n', ns]);
        return s && s.metadata.uid !== svc?.metadata.uid;
      },
      20_000,
    );
  });
});
