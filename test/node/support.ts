// Helpers of the node suites (test/node, test/e2e node variant): pods run by the kubelet from the
// images built here, and `agnhost connect` from inside them.
import { IMAGES } from '../../tools/harness/node.ts';
import { kubectlOk, type Kubectl } from '../../tools/harness/install.ts';

export { IMAGES };

/** In CI a node suite that cannot run fails with the reason; elsewhere it says why and skips. */
export function nodeSkipReason(reason: string | undefined, suite: string): string | undefined {
  if (!reason) return undefined;
  if (process.env['CI']) throw new Error(`CI must run ${suite} on the real node: ${reason}`);
  console.warn(`${suite}: skipped: ${reason}`);
  return reason;
}

/** `agnhost connect` from `pod`: 'ok', or what agnhost prints (REFUSED, TIMEOUT, DNS: …). */
export async function connect(k: Kubectl, ns: string, pod: string, target: string): Promise<string> {
  const r = await k(['exec', '-n', ns, pod, '--', '/agnhost', 'connect', target, '--timeout=2s']);
  return r.code === 0 ? 'ok' : (r.stderr.trim().split('\n')[0] ?? `exit ${r.code}`);
}

/** Polls `fn` every 250 ms until true; returns the milliseconds it took. */
export async function eventually(
  what: string,
  fn: () => Promise<boolean>,
  withinMs: number,
): Promise<number> {
  const start = Date.now();
  let last: unknown;
  while (Date.now() - start < withinMs) {
    try {
      if (await fn()) return Date.now() - start;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: not within ${withinMs} ms${last ? ` (last error: ${String(last)})` : ''}`);
}

/**
 * Polls `fn` until it is true `times` times in a row; returns the milliseconds to the first of
 * them. Each CoreDNS pod's ConfigMap volume is synced by the kubelet on its own, and the kube-dns
 * Service spreads queries over the pods: one answer proves one pod, a run of them all.
 */
export async function steadily(
  what: string,
  fn: () => Promise<boolean>,
  times: number,
  withinMs: number,
): Promise<number> {
  const start = Date.now();
  let run = 0;
  let first = 0;
  while (run < times) {
    if (Date.now() - start > withinMs)
      throw new Error(`${what}: not ${times} times in a row within ${withinMs} ms`);
    if (await fn().catch(() => false)) {
      if (run++ === 0) first = Date.now() - start;
    } else {
      run = 0;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return first;
}

/** `kubectl run <name>` of agnhost `pause` in `ns`, Ready. */
export async function runClient(k: Kubectl, ns: string, name = 'client'): Promise<void> {
  await kubectlOk(k, ['-n', ns, 'run', name, `--image=${IMAGES.agnhost}`, '--', 'pause']);
  await kubectlOk(k, ['-n', ns, 'wait', '--for=condition=Ready', `pod/${name}`, '--timeout=90s']);
}

/**
 * The README's web process for App `app`: `kubectl create deployment` of agnhost netexec on
 * `port`, its pods labelled for the App (privatespaces.dev/app), rolled out.
 */
export async function createAppDeployment(k: Kubectl, ns: string, app: string, port: number): Promise<void> {
  await kubectlOk(k, [
    '-n',
    ns,
    'create',
    'deployment',
    app,
    `--image=${IMAGES.agnhost}`,
    `--port=${port}`,
    '--',
    '/agnhost',
    'netexec',
    `--http-port=${port}`,
  ]);
  const labels = { spec: { template: { metadata: { labels: { 'privatespaces.dev/app': app } } } } };
  await kubectlOk(k, ['-n', ns, 'patch', 'deployment', app, '--type=merge', '-p', JSON.stringify(labels)]);
  await kubectlOk(k, ['-n', ns, 'rollout', 'status', `deployment/${app}`, '--timeout=120s']);
}
