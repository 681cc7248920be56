// The DNS render's cost as the cluster grows, without a cluster: what the DNS controller does on
// each render (DnsSnapshot.update from the caches' dirty namespaces, then DnsRenderer.render with
// the last data fed back as the live ConfigMap), driven by a burst like the bench's: Apps created
// round-robin over the Spaces (100 Apps a Space) at `--apps-per-second`, each followed by its
// Service's ClusterIP and a ready EndpointSlice, and renders as far apart as the controller's
// least interval (1 s, or the entries' bytes at 100 KiB/s; `--interval-ms` fixes it instead).
// Prints the render CPU per App and per render at each size: flat per App means the work of a
// change does not grow with what exists.
//   node bench/dns-render.ts [--apps 1000,10000] [--apps-per-second 30] [--interval-ms N]
import { parseArgs } from 'node:util';
import type { App } from '../src/api/v1alpha1/app.ts';
import type { Space } from '../src/api/v1alpha1/space.ts';
import { DnsRenderer } from '../src/dns/render.ts';
import {
  DnsSnapshot,
  SERVICE_NAME_LABEL,
  type EndpointSliceLike,
  type ServiceLike,
  type SnapshotSource,
} from '../src/dns/snapshot.ts';
import { APP_LABEL } from '../src/model/labels.ts';
import { space as benchSpace, app as benchApp } from './workload.ts';

interface Cache<T> {
  byNs: Map<string, Map<string, T>>;
}

const newCache = <T>(): Cache<T> => ({ byNs: new Map() });

function put<T>(c: Cache<T>, ns: string, name: string, o: T): void {
  let m = c.byNs.get(ns);
  if (!m) c.byNs.set(ns, (m = new Map()));
  m.set(name, o);
}

const list = <T>(c: Cache<T>, ns: string): T[] => [...(c.byNs.get(ns)?.values() ?? [])];

/** One burst of `apps` Apps over apps/100 Spaces; returns CPU ms spent rendering and the renders. */
interface Pace {
  appsPerSecond: number;
  /** Fixed time between renders; undefined: the controller's rule. */
  intervalMs: number | undefined;
}

const created = (i: number): string => new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();

/** The caches the DNS controller reads, and the namespaces touched since the last render. */
interface World {
  source: SnapshotSource;
  apps: Cache<App>;
  services: Cache<ServiceLike>;
  slices: Cache<EndpointSliceLike>;
  /** By namespace, the Apps touched since the last render (as the DNS controller records them). */
  dirty: Map<string, Set<string>>;
}

function world(spaceCount: number): World {
  const spaces: Space[] = [];
  for (let i = 0; i < spaceCount; i++) {
    const s = benchSpace(i);
    spaces.push({
      ...s,
      metadata: { ...s.metadata, uid: `s${i}`, generation: 1, creationTimestamp: created(0) },
    });
  }
  const w: World = { apps: newCache(), services: newCache(), slices: newCache(), dirty: new Map() } as World;
  w.source = {
    spaces,
    apps: (ns) => list(w.apps, ns),
    services: (ns) => list(w.services, ns),
    endpointSlices: (ns) => list(w.slices, ns),
    pods: () => [],
    // As the DNS controller's informers answer: by key, and a Service's slices by index (each
    // App's one slice is stored under its name).
    app: (ns, name) => w.apps.byNs.get(ns)?.get(name),
    service: (ns, name) => w.services.byNs.get(ns)?.get(name),
    endpointSlicesOf: (ns, svc) => {
      const slice = w.slices.byNs.get(ns)?.get(svc);
      return slice ? [slice] : [];
    },
  };
  return w;
}

// Three events an App: it is created, its Service gets a ClusterIP, its EndpointSlice is ready.
function appEvents(w: World, n: number, spaceCount: number): (() => void)[] {
  const a = benchApp(n, spaceCount);
  const ns = a.metadata.namespace!;
  const name = a.metadata.name;
  const meta = { ...a.metadata, uid: `a${n}`, generation: 1, creationTimestamp: created(n) };
  const ip = `${n >> 8}.${n & 255}`;
  const labels = { [SERVICE_NAME_LABEL]: name, [APP_LABEL]: name };
  const events = [
    () => put(w.apps, ns, name, { ...a, metadata: meta }),
    () =>
      put(w.services, ns, name, { metadata: { name, namespace: ns }, spec: { clusterIP: `10.96.${ip}` } }),
    () =>
      put(w.slices, ns, name, {
        metadata: { namespace: ns, labels },
        endpoints: [{ addresses: [`10.2.${ip}`], conditions: { ready: true } }],
      }),
  ];
  return events.map((e) => () => {
    e();
    const touched = w.dirty.get(ns);
    if (touched) touched.add(name);
    else w.dirty.set(ns, new Set([name]));
  });
}

// Every App's events, the Service and slice two seconds after their App (the controllers' writes).
function burstEvents(w: World, apps: number, spaceCount: number, appsPerSecond: number): (() => void)[] {
  const events = Array.from({ length: apps }, (_, n) => appEvents(w, n, spaceCount));
  const order: (() => void)[] = [];
  const lag = appsPerSecond * 2;
  for (let i = 0; i < apps; i++) {
    order.push(events[i]![0]!);
    if (i >= lag) order.push(...events[i - lag]!.slice(1));
  }
  for (let i = Math.max(0, apps - lag); i < apps; i++) order.push(...events[i]!.slice(1));
  return order;
}

interface Figures {
  cpuMs: number;
  renders: number;
  lastMs: number;
  bytes: number;
}

/** One burst of `apps` Apps over apps/100 Spaces: the CPU spent rendering, and the renders. */
function burst(apps: number, pace: Pace): Figures {
  const spaceCount = Math.max(1, Math.round(apps / 100));
  const w = world(spaceCount);
  const snapshot = new DnsSnapshot();
  const renderer = new DnsRenderer();
  let previous: Record<string, string> = {};
  const f: Figures = { cpuMs: 0, renders: 0, lastMs: 0, bytes: 0 };
  const render = (all: boolean): void => {
    const t0 = process.cpuUsage();
    const result = renderer.render(snapshot.update(w.source, all ? 'all' : w.dirty), { previous });
    const used = process.cpuUsage(t0);
    f.lastMs = (used.user + used.system) / 1000;
    f.cpuMs += f.lastMs;
    f.renders++;
    previous = result.data;
    f.bytes = result.bytes;
    w.dirty = new Map();
  };
  render(true);
  const order = burstEvents(w, apps, spaceCount, pace.appsPerSecond);
  const eventMs = 1000 / (3 * pace.appsPerSecond);
  let lastRenderAt = 0;
  for (let i = 0; i < order.length; i++) {
    order[i]!();
    const now = (i + 1) * eventMs;
    const interval = pace.intervalMs ?? Math.max(1000, (1000 * f.bytes) / (100 * 1024));
    if (now - lastRenderAt >= interval || i === order.length - 1) {
      render(false);
      lastRenderAt = now;
    }
  }
  return f;
}

const { values } = parseArgs({
  options: {
    apps: { type: 'string', default: '1000,10000' },
    'apps-per-second': { type: 'string', default: '30' },
    'interval-ms': { type: 'string' },
  },
});
const pace: Pace = {
  appsPerSecond: Number(values['apps-per-second']),
  intervalMs: values['interval-ms'] === undefined ? undefined : Number(values['interval-ms']),
};
console.log(
  '| Apps | Spaces | renders | render CPU, s | CPU per App, ms | last render, ms | last entries, KiB |',
);
console.log('|---|---|---|---|---|---|---|');
for (const n of values.apps.split(',').map(Number)) {
  const r = burst(n, pace);
  console.log(
    `| ${n} | ${Math.round(n / 100)} | ${r.renders} | ${(r.cpuMs / 1000).toFixed(2)} | ${(r.cpuMs / n).toFixed(3)} | ${r.lastMs.toFixed(1)} | ${(r.bytes / 1024).toFixed(0)} |`,
  );
}
