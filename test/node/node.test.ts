// A real node (kubelet, containerd, runc, CNI, kube-proxy, kube-router, CoreDNS pods) on the local
// control plane: real pods run from images built here, and packets prove the Service, policy
// and DNS paths. Root only; without root the reason is printed and the file is skipped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../../tools/harness/controlplane.ts';
import { operatorImage } from '../../tools/harness/images.ts';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { addNetns, ip, listNetns } from '../../tools/harness/netns.ts';
import {
  IMAGES,
  NODE_APISERVER_ARGS,
  NODE_IP,
  nodeUnavailable,
  startNode,
  type LocalNode,
} from '../../tools/harness/node.ts';

const reason = nodeUnavailable();
if (reason) console.warn(`test/node: skipped: ${reason}`);

let cp: ControlPlane;
let node: LocalNode;
/** The node namespace a run that ended left behind (see beforeAll). */
let leftover = '';
/** A mount point of the pods of that run. */
let leftoverMount = '';

async function k(args: string[], input?: string): Promise<string> {
  const r = await cp.kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** `agnhost connect` from pod `from`: 'ok', or the failure agnhost prints (REFUSED, TIMEOUT, DNS, …). */
async function connect(from: string, target: string, ns = 'default'): Promise<string> {
  const r = await cp.kubectl(['exec', '-n', ns, from, '--', '/agnhost', 'connect', target, '--timeout=1s']);
  return r.code === 0 ? 'ok' : (r.stderr.trim().split('\n')[0] ?? `exit ${r.code}`);
}

async function eventually(what: string, fn: () => Promise<boolean>, withinMs: number): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < withinMs) {
    if (await fn()) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: not within ${withinMs} ms`);
}

const server = (name: string, labels: Record<string, string>): string =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: {
      containers: [
        {
          name: 'agnhost',
          image: IMAGES.agnhost,
          imagePullPolicy: 'Never',
          args: ['netexec', '--http-port=8080'],
          readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
        },
      ],
    },
  });

describe.skipIf(reason)('a real node', () => {
  beforeAll(async () => {
    cp = await startControlPlane({ apiserverArgs: NODE_APISERVER_ARGS });
    // What a run killed without its cleanup leaves: the node's namespace and, on the host, its
    // uplink with the route to the node's address. The next node must start anyway.
    const dead = spawnSync('true').pid;
    leftover = `spc-node-${dead}-dead-node`;
    await addNetns(leftover);
    await ip(['link', 'add', 'updead', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', leftover]);
    await ip(['link', 'set', 'updead', 'up']);
    await ip(['route', 'add', `${NODE_IP}/32`, 'dev', 'updead']);
    // …and its pods' mounts (a projected volume is a tmpfs) under its folder.
    leftoverMount = path.join(os.tmpdir(), `spc-node-${dead}-dead`, 'kubelet/pods/p/volumes/token');
    await mkdir(leftoverMount, { recursive: true });
    expect(spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', leftoverMount]).status).toBe(0);
    node = await startNode(cp, { log: (l) => console.log(l) });
  });

  afterAll(async () => {
    await node?.stop();
    await cp?.stop();
  });

  it('starts over the node of a run that ended without its cleanup, and removes it and its mounts', async () => {
    expect(await listNetns()).not.toContain(leftover);
    expect(await ip(['link', 'show'])).not.toContain('updead');
    expect(await ip(['route', 'get', NODE_IP])).toContain(`dev up${node.nodeName.slice(-4)}`);
    expect(readFileSync('/proc/self/mounts', 'utf8')).not.toContain(leftoverMount);
    await rm(leftoverMount.slice(0, leftoverMount.indexOf('/kubelet/')), { recursive: true, force: true });
  });

  it('registers a Ready node with the pod CIDR', async () => {
    console.log(`Node Ready: ${node.readyMs} ms after the kubelet started`);
    const json = JSON.parse(await k(['get', 'node', node.nodeName, '-o', 'json'])) as {
      spec: { podCIDR: string; taints?: unknown[] };
      status: { conditions: { type: string; status: string }[]; addresses: { address: string }[] };
    };
    expect(json.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(json.spec.podCIDR).toBe(node.podCIDR);
    expect(json.status.addresses.map((a) => a.address)).toContain(node.nodeIP);
  });

  it('runs `kubectl run` pods, with exec and logs', async () => {
    const start = Date.now();
    await k([
      'run',
      'client',
      `--image=${IMAGES.agnhost}`,
      '--image-pull-policy=Never',
      '--labels=role=client',
      '--',
      'netexec',
    ]);
    await k(['wait', '--for=condition=Ready', 'pod/client', '--timeout=60s']);
    console.log(`pod Ready: ${Date.now() - start} ms after kubectl run`);
    expect(await k(['exec', 'client', '--', '/agnhost', 'dns-suffix'])).toContain(
      'default.svc.cluster.local',
    );
    expect(await k(['logs', 'client'])).toContain('Started HTTP server on port 8080');
  });

  it('runs a 3-replica Deployment and serves its ClusterIP to pods', async () => {
    const start = Date.now();
    await k([
      'create',
      'deployment',
      'web',
      `--image=${IMAGES.agnhost}`,
      '--replicas=3',
      '--port=8080',
      '--',
      '/agnhost',
      'netexec',
    ]);
    await k(['rollout', 'status', 'deployment/web', '--timeout=90s']);
    console.log(`3-replica Deployment Available: ${Date.now() - start} ms`);
    const ready = await k(['get', 'deploy', 'web', '-o', 'jsonpath={.status.readyReplicas}']);
    expect(ready).toBe('3');
    await k(['expose', 'deployment', 'web', '--port=80', '--target-port=8080']);
    const ip = (await k(['get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    await eventually(
      'client → web ClusterIP',
      async () => (await connect('client', `${ip}:80`)) === 'ok',
      30_000,
    );
    expect(await connect('client', `${ip}:81`)).not.toBe('ok');
  });

  it('refuses a connection under a default-deny NetworkPolicy and admits it after an allow', async () => {
    await k(['apply', '-f', '-'], server('target', { app: 'target' }));
    await k(['wait', '--for=condition=Ready', 'pod/target', '--timeout=60s']);
    const ip = (await k(['get', 'pod', 'target', '-o', 'jsonpath={.status.podIP}'])).trim();
    expect(await connect('client', `${ip}:8080`)).toBe('ok');
    const deny = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny' } };
    await k(
      ['apply', '-f', '-'],
      JSON.stringify({ ...deny, spec: { podSelector: {}, policyTypes: ['Ingress'] } }),
    );
    const denied = await eventually(
      'deny',
      async () => (await connect('client', `${ip}:8080`)) !== 'ok',
      30_000,
    );
    console.log(`default-deny enforced after ${denied} ms: ${await connect('client', `${ip}:8080`)}`);
    const allow = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'allow-client' },
      spec: {
        podSelector: { matchLabels: { app: 'target' } },
        ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }] }],
      },
    };
    await k(['apply', '-f', '-'], JSON.stringify(allow));
    const allowed = await eventually(
      'allow',
      async () => (await connect('client', `${ip}:8080`)) === 'ok',
      30_000,
    );
    console.log(`allow admitted after ${allowed} ms`);
    await k(['delete', 'networkpolicy', 'deny', 'allow-client']);
  });

  it('resolves Service names through the CoreDNS pods, and names from coredns-custom', async () => {
    expect(
      await k(['-n', 'kube-system', 'get', 'deploy', 'coredns', '-o', 'jsonpath={.status.readyReplicas}']),
    ).toBe('2');
    console.log(`CoreDNS Deployment ready ${node.dnsReadyMs} ms after apply`);
    expect(await connect('client', 'web.default.svc.cluster.local:80')).toBe('ok');
    expect(await connect('client', 'web:80')).toBe('ok');
    expect(await connect('client', 'nothere.default.svc.cluster.local:80')).toContain('DNS');
    // The operator's convention: a *.server key in kube-system/coredns-custom, through the kubelet's volume.
    const ip = (await k(['get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    const custom = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'coredns-custom', namespace: 'kube-system' },
      data: { 'test.server': `example.test:53 {\n    hosts {\n        ${ip} hello.example.test\n    }\n}\n` },
    };
    const start = Date.now();
    await k(['apply', '-f', '-'], JSON.stringify(custom));
    await eventually(
      'hello.example.test served',
      async () => (await connect('client', 'hello.example.test:80')) === 'ok',
      150_000,
    );
    console.log(`coredns-custom applied → name served by the CoreDNS pods: ${Date.now() - start} ms`);
    // Only the CoreDNS pods answer: with none left, the name no longer resolves.
    await k(['-n', 'kube-system', 'scale', 'deploy/coredns', '--replicas=0']);
    await eventually(
      'no DNS without CoreDNS pods',
      async () => (await connect('client', 'web:80')) !== 'ok',
      60_000,
    );
    await k(['-n', 'kube-system', 'scale', 'deploy/coredns', '--replicas=2']);
  });

  it("runs the operator's image built from the Dockerfile (Node 24 distroless-like root, non-root)", async () => {
    const image = await operatorImage((l) => console.log(l));
    await node.importImage(image.tar);
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'operator-help' },
      spec: {
        restartPolicy: 'Never',
        securityContext: { runAsNonRoot: true },
        containers: [{ name: 'operator', image: image.name, imagePullPolicy: 'Never', args: ['--help'] }],
      },
    };
    await k(['apply', '-f', '-'], JSON.stringify(pod));
    await k(['wait', '--for=jsonpath={.status.phase}=Succeeded', 'pod/operator-help', '--timeout=60s']);
    expect(await k(['logs', 'operator-help'])).toContain('spaces-operator: reconciles privatespaces.dev');
    const uid = await k([
      'get',
      'pod',
      'operator-help',
      '-o',
      'jsonpath={.status.containerStatuses[0].user.linux.uid}',
    ]);
    expect(uid === '' || uid === '65532').toBe(true);
  }, 300_000);
});
