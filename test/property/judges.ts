// The two judges of a world's queries: our evaluator (src/reach, as the App controller, the webhook
// and the CLI use it) and cyclonus v0.5.6's policy engine (tools/cyclonus, built and cached by
// tools/build-binaries.sh). See README.md for cyclonus-judge's input and output.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  admits,
  evaluateIngress,
  type ConnectionQuery,
  type NamespaceInfo,
  type Reachability,
} from '../../src/reach/index.ts';
import type { PodModel, Query, World } from './generator.ts';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../..');

export type CyclonusVerdict = { ingress: boolean; egress: boolean; ingressRaw: boolean; egressRaw: boolean };

let judgePath: Promise<string> | undefined;

/** The cyclonus-judge binary, built on first use (a cold build takes a few minutes). */
export function cyclonusJudge(): Promise<string> {
  judgePath ??= (async () => {
    const script = path.join(repoRoot, 'tools/build-binaries.sh');
    const built = run('bash', [script, 'cyclonus'], { maxBuffer: 1 << 20 });
    built.child.stderr?.pipe(process.stderr);
    const line = (await built).stdout.split('\n').find((l) => l.startsWith('cyclonus='));
    if (!line) throw new Error('tools/build-binaries.sh cyclonus printed no cyclonus=<dir> line');
    return path.join(line.slice('cyclonus='.length), 'cyclonus-judge');
  })();
  return judgePath;
}

/** cyclonus's verdict on every query of the world, in order. */
export async function cyclonusVerdicts(world: World): Promise<CyclonusVerdict[]> {
  const judge = await cyclonusJudge();
  const input = JSON.stringify({
    namespaces: world.namespaces,
    pods: world.pods,
    policies: world.policies,
    queries: world.queries,
  });
  const child = run(judge, [], { maxBuffer: 64 << 20 });
  child.child.stdin?.end(input);
  const { stdout } = await child;
  const { verdicts } = JSON.parse(stdout) as { verdicts: CyclonusVerdict[] };
  if (verdicts.length !== world.queries.length) {
    throw new Error(`cyclonus-judge answered ${verdicts.length} of ${world.queries.length} queries`);
  }
  return verdicts;
}

export function podOf(world: World, ref: string): PodModel {
  const pod = world.pods.find((p) => `${p.namespace}/${p.name}` === ref);
  if (!pod) throw new Error(`query names pod ${ref}, which the world does not have`);
  return pod;
}

function connection(world: World, q: Query): ConnectionQuery {
  const base = { port: q.port, protocol: q.protocol };
  if ('ip' in q.from) return { ...base, ip: q.from.ip };
  const src = podOf(world, q.from.pod);
  const ns: NamespaceInfo | undefined = world.namespaces.find((n) => n.name === src.namespace);
  return {
    ...base,
    ip: src.ip,
    namespace: src.namespace,
    namespaceLabels: ns?.labels ?? {},
    podLabels: src.labels,
  };
}

/** Our evaluator's verdict on every query: does the destination's ingress admit it? */
export function ourVerdicts(world: World): boolean[] {
  const reaches = new Map<string, Reachability>();
  return world.queries.map((q) => {
    let reach = reaches.get(q.to);
    if (!reach) {
      const dst = podOf(world, q.to);
      reach = evaluateIngress({
        pod: { namespace: dst.namespace, labels: dst.labels, ports: dst.ports },
        policies: world.policies,
        namespaces: world.namespaces,
      });
      reaches.set(q.to, reach);
    }
    return admits(reach, connection(world, q));
  });
}

export function describeQuery(q: Query): string {
  const from = 'ip' in q.from ? q.from.ip : q.from.pod;
  return `${from} → ${q.to}:${q.port}/${q.protocol}`;
}
