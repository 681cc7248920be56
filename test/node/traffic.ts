// What the upgrade tests of test/node measure while the operator rolls: connections made by a pod
// of a Space (agnhost netexec's /dial through a port-forward, one every 200 ms or so, without the
// cost of a `kubectl exec` each), sampled while some work runs, and the uid of every object a user
// relies on, to prove none was deleted and re-created. helm.test.ts and kustomize-upgrade.test.ts
// both use them.
import { spawn } from 'node:child_process';
import { binaries } from '../../tools/harness/binaries.ts';
import { kubectlOk, OPERATOR_NAMESPACE, type Kubectl } from '../../tools/harness/install.ts';
import { IMAGES } from '../../tools/harness/node.ts';

export interface PortForward {
  /** The local port on 127.0.0.1. */
  port: number;
  stop: () => void;
}

/** `kubectl port-forward pod/<pod> :<port>` in `ns`; resolves with the local port. */
export async function portForward(
  kubeconfig: string,
  target: { ns: string; pod: string; port: number },
): Promise<PortForward> {
  const { kubectl } = await binaries('kubectl');
  const { ns, pod, port } = target;
  const child = spawn(
    kubectl,
    ['--kubeconfig', kubeconfig, '-n', ns, 'port-forward', `pod/${pod}`, `:${port}`],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const stop = (): void => void child.kill('SIGTERM');
  const local = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`port-forward: no port in 30 s: ${out}`)), 30_000);
    const read = (d: Buffer): void => {
      out += d.toString();
      const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('exit', (code) => reject(new Error(`port-forward exited ${code}: ${out}`)));
  }).catch((err: unknown) => {
    stop();
    throw err;
  });
  return { port: local, stop };
}

/**
 * One connection from the pod behind `forwarded` (agnhost netexec) to `host:port`, an HTTP GET
 * /hostname: 'ok', or what failed (agnhost's error, e.g. a refused connection).
 */
export async function dial(forwarded: number, host: string, port: number): Promise<string> {
  const url = `http://127.0.0.1:${forwarded}/dial?request=hostname&protocol=http&host=${host}&port=${port}&tries=1`;
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(3000) });
    const body = (await r.json()) as { responses?: string[]; errors?: string[] };
    return body.responses?.length && !body.errors?.length ? 'ok' : (body.errors?.[0] ?? `HTTP ${r.status}`);
  } catch (err) {
    return `probe: ${String(err)}`;
  }
}

/** A check to run again and again: every `everyMs` (or as fast as it returns). */
export interface Sampler {
  everyMs: number;
  /** 'ok', or what went wrong. */
  check: () => Promise<string>;
}

/** Runs every sampler on its own loop while `work` runs; each sampler's verdicts in order. */
export async function sampleDuring<T, K extends string>(
  samplers: Record<K, Sampler>,
  work: () => Promise<T>,
): Promise<{ value: T; verdicts: Record<K, string[]> }> {
  const entries = Object.entries(samplers) as [K, Sampler][];
  const verdicts = Object.fromEntries(entries.map(([name]) => [name, [] as string[]])) as Record<K, string[]>;
  let done = false;
  const loop = async (name: K, { everyMs, check }: Sampler): Promise<void> => {
    while (!done) {
      const t = Date.now();
      verdicts[name].push(await check());
      await new Promise((r) => setTimeout(r, Math.max(0, everyMs - (Date.now() - t))));
    }
  };
  const loops = entries.map(([name, sampler]) => loop(name, sampler));
  try {
    return { value: await work(), verdicts };
  } finally {
    done = true;
    await Promise.all(loops);
  }
}

/** A pod of agnhost netexec on `port` (Ready once it listens), fit for a baseline Space. */
export const agnhostPod = (name: string, ns: string, labels: Record<string, string>, port: number): string =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'agnhost',
          image: IMAGES.agnhost,
          imagePullPolicy: 'Never',
          args: ['netexec', `--http-port=${port}`],
          readinessProbe: { tcpSocket: { port }, periodSeconds: 1 },
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  });

/**
 * uid of every Space, App, Peering, Service and NetworkPolicy, by kind/namespace/name, outside the
 * operator's namespace, kube-system and default.
 */
export async function userObjectUids(k: Kubectl): Promise<Record<string, string>> {
  const out = await kubectlOk(k, [
    'get',
    'spaces,apps.privatespaces.dev,peerings,services,networkpolicies',
    '-A',
    '-o',
    'jsonpath={range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name}={.metadata.uid}{"\\n"}{end}',
  ]);
  const system = [OPERATOR_NAMESPACE, 'kube-system', 'default'].map((ns) => `/${ns}/`);
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .filter((l) => !system.some((s) => l.includes(s)))
      .map((l) => l.split('=') as [string, string]),
  );
}
