// The floor's three controllers on the engine: informers (the operator's transform: only our
// own Apply entry of managedFields, strings interned), one `Controller` per kind with the
// watches of tools/peer/main.go (`For`, `Owns`, and a Space or Peering event mapped to every
// Peering or App of its namespace), the engine's `Applier` and `StatusWriter`.
import type { KubernetesObject } from '@kubernetes/client-node';
import {
  Applier,
  Controller,
  FIELD_MANAGER,
  Informer,
  StatusWriter,
  internStrings,
  objectKey,
  slimManagedFields,
  type KubeClient,
  type Logger,
  type Reconciler,
} from '../../src/engine/index.ts';
import { enqueueAll } from '../../src/controllers/setup.ts';
import { StatusApplier, type StatusSink } from './write.ts';
import {
  API_VERSION,
  activeCidrs,
  appChildren,
  appNoSpaceStatus,
  appStatus,
  controllerOwner,
  ownedBy,
  peeringStatus,
  spaceChildren,
  spaceStatus,
  type Obj,
} from './objects.ts';

export interface FloorInformers {
  spaces: Informer<Obj>;
  peerings: Informer<Obj>;
  apps: Informer<Obj>;
  namespaces: Informer<Obj>;
  services: Informer<Obj>;
  networkPolicies: Informer<Obj>;
}

export function makeInformers(api: KubeClient, logger: Logger): FloorInformers {
  const slim = slimManagedFields<KubernetesObject>([FIELD_MANAGER]);
  const intern = internStrings<KubernetesObject>();
  const mk = (name: string, path: string): Informer<Obj> =>
    new Informer<Obj>({ api, name, path, logger, transform: (o) => intern(slim(o)) as Obj });
  const cr = (plural: string): string => `/apis/${API_VERSION}/${plural}`;
  return {
    spaces: mk('spaces', cr('spaces')),
    peerings: mk('peerings', cr('peerings')),
    apps: mk('apps', cr('apps')),
    namespaces: mk('namespaces', '/api/v1/namespaces'),
    services: mk('services', '/api/v1/services'),
    networkPolicies: mk('networkpolicies', '/apis/networking.k8s.io/v1/networkpolicies'),
  };
}

interface Deps {
  inf: FloorInformers;
  applier: Applier;
  status: StatusSink;
}

const gone = (o: Obj | undefined): o is undefined => !o || o.metadata.deletionTimestamp !== undefined;

function spaceReconciler({ inf, applier, status }: Deps): Reconciler {
  return {
    name: 'space',
    async reconcile(key) {
      const s = inf.spaces.get(key);
      if (gone(s)) return;
      // A namespace that existed before the Space (made by someone else) is adopted, not owned.
      const existing = inf.namespaces.get(s.metadata.name);
      const adopted = existing !== undefined && !ownedBy(existing, s);
      for (const child of spaceChildren(s, adopted)) await applier.apply(child);
      await status.patchStatus(s, spaceStatus(s, adopted));
    },
  };
}

function peeringReconciler({ inf, status }: Deps): Reconciler {
  return {
    name: 'peering',
    async reconcile(key) {
      const p = inf.peerings.get(key);
      if (gone(p)) return;
      await status.patchStatus(p, peeringStatus(p, inf.spaces.get(p.metadata.namespace ?? '')));
    },
  };
}

function appReconciler({ inf, applier, status }: Deps): Reconciler {
  return {
    name: 'app',
    async reconcile(key) {
      const a = inf.apps.get(key);
      if (gone(a)) return;
      const ns = a.metadata.namespace ?? '';
      const s = inf.spaces.get(ns);
      if (!s) {
        await status.patchStatus(a, appNoSpaceStatus(a));
        return;
      }
      const cidrs = a.spec?.internalRouting ? activeCidrs(inf.peerings.list(ns)) : [];
      const [svc, np] = appChildren(a, s, cidrs);
      const applied = await applier.apply(svc);
      await applier.apply(np);
      const clusterIP = (applied.object as Obj).spec?.clusterIP as string | undefined;
      await status.patchStatus(a, appStatus(a, clusterIP));
    },
  };
}

const keys = (objs: readonly Obj[]): string[] => objs.map(objectKey);
/** `Owns(kind)`: a child maps to its controller owner of `kind`, in the child's namespace. */
const owner =
  (kind: string, clusterScoped = false) =>
  (o: Obj): string[] => {
    const name = controllerOwner(o, kind);
    if (!name) return [];
    return [clusterScoped || !o.metadata.namespace ? name : `${o.metadata.namespace}/${name}`];
  };

export interface Floor {
  informers: FloorInformers;
  /** Space, Peering, App. */
  controllers: [Controller, Controller, Controller];
}

export interface FloorOptions {
  concurrency: number;
  /** Write every child and status on every reconcile, as the Go peer does (bench/floor/write.ts). */
  alwaysWrite?: boolean;
}

/** The Applier and status writer: the operator's (skip what the cache shows), or always write. */
function writers(api: KubeClient, logger: Logger, inf: FloorInformers, alwaysWrite: boolean): Deps {
  const caches = alwaysWrite ? [] : [inf.namespaces, inf.services, inf.networkPolicies];
  const status = alwaysWrite ? new StatusApplier(api) : new StatusWriter({ api, logger });
  return { inf, applier: new Applier({ api, logger, caches }), status };
}

/** The informers and the three controllers, wired; nothing started. */
export function makeFloor(api: KubeClient, logger: Logger, o: FloorOptions): Floor {
  const inf = makeInformers(api, logger);
  const deps = writers(api, logger, inf, o.alwaysWrite ?? false);
  const opts = { concurrency: o.concurrency, logger };
  const space = new Controller(spaceReconciler(deps), opts);
  space.watch(inf.spaces, (o) => [objectKey(o)]);
  space.watch(inf.namespaces, owner('Space', true));
  space.watch(inf.networkPolicies, owner('Space', true));
  const peering = new Controller(peeringReconciler(deps), opts);
  peering.watch(inf.peerings, (o) => [objectKey(o)]);
  peering.watch(inf.spaces, (o) => keys(inf.peerings.list(o.metadata.name)));
  const app = new Controller(appReconciler(deps), opts);
  app.watch(inf.apps, (o) => [objectKey(o)]);
  app.watch(inf.services, owner('App'));
  app.watch(inf.networkPolicies, owner('App'));
  app.watch(inf.spaces, (o) => keys(inf.apps.list(o.metadata.name)));
  app.watch(inf.peerings, (o) => keys(inf.apps.list(o.metadata.namespace ?? '')));
  return { informers: inf, controllers: [space, peering, app] };
}

/** Enqueues every Space, Peering and App (a forced full resync); returns how many keys. */
export function resyncAll({ informers: inf, controllers: [space, peering, app] }: Floor): number {
  return (
    enqueueAll(space, inf.spaces.keys()) +
    enqueueAll(peering, inf.peerings.keys()) +
    enqueueAll(app, inf.apps.keys())
  );
}
