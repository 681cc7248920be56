// `kubectl spaces create app NAME --space SPACE`: Heroku's `apps:create --space S
// [--internal-routing]`. The App is checked with the webhook's own rules (validateApp against
// the live Space) before anything is sent, then created in the Space's namespace; the output
// lists the names it answers to (the model's appDnsNames).
import type { App, Space } from '../api/v1alpha1/index.ts';
import { API_VERSION, DEFAULT_APP_PORT } from '../api/v1alpha1/constants.ts';
import { parseApp } from '../api/parse.ts';
import {
  appDefaultDomain,
  appSelector,
  hasDnsDiscovery,
  isInternal,
  processDiscoveryName,
  sortCidrs,
  spaceNamespaceName,
  validateApp,
  platformSettings,
} from '../model/index.ts';
import { CliError, EXIT, notFound, refused, usageError } from './errors.ts';
import { ApiError, apiFailure, type Kube } from './kube.ts';
import { fields, labelText, list, structured, type OutputFormat } from './output.ts';

export type DryRun = 'client' | 'server';

export interface CreateAppOptions {
  name: string;
  space: string;
  internalRouting: boolean;
  domains: string[];
  port: number;
  dnsDiscovery: boolean;
  acm: boolean;
  dryRun?: DryRun;
  output?: OutputFormat;
}

/** The App object for the options (defaults as the CRD applies them), in the Space's namespace. */
export function buildApp(o: CreateAppOptions, space: Space): App {
  return {
    apiVersion: API_VERSION,
    kind: 'App',
    metadata: { name: o.name, namespace: spaceNamespaceName(space) },
    spec: {
      internalRouting: o.internalRouting,
      port: o.port,
      acm: o.acm,
      // Unset means on (cedar); fir refuses an explicit true, so only "off" is written.
      ...(o.dnsDiscovery ? {} : { dnsDiscovery: false }),
      ...(o.domains.length > 0 ? { domains: o.domains } : {}),
    },
  };
}

/** Refuses what the webhook would refuse: the model's validateApp, then the CRD's schema. */
export function checkApp(app: App, space: Space): void {
  const what = `App ${app.metadata.namespace ?? ''}/${app.metadata.name}`;
  const hint = 'nothing was sent to the API server; fix the flags above and run the command again';
  // The cluster's allowed DNS suffixes are a flag of its operator, unknown here: the custom domains
  // are judged by the cluster's webhook (whose message the create then shows), the rest here.
  const offline = platformSettings({ allowedDnsSuffixes: app.spec.domains ?? [] });
  const errors = validateApp(app, space, undefined, offline);
  if (errors.length > 0) throw refused(what, errors, hint);
  const parsed = parseApp(app);
  if (!parsed.ok) throw refused(what, parsed.errors, hint);
}

export interface CreatedView {
  app: string;
  namespace: string;
  space: string;
  routing: 'internal' | 'external';
  reachableFrom: string;
  port: number;
  defaultDomain: string;
  customDomains: string[];
  discoveryName?: string;
  selector: string;
  dryRun?: DryRun;
}

export function createdView(app: App, space: Space, dryRun?: DryRun): CreatedView {
  const primary = appDefaultDomain(app, space);
  const custom = [...new Set((app.spec.domains ?? []).map((d) => d.toLowerCase()))].filter(
    (d) => d !== primary,
  );
  const spaceName = space.metadata.name;
  const ranges = sortCidrs(space.spec.trustedIPRanges);
  return {
    app: app.metadata.name,
    namespace: app.metadata.namespace ?? spaceNamespaceName(space),
    space: spaceName,
    routing: isInternal(app) ? 'internal' : 'external',
    reachableFrom: isInternal(app)
      ? `Space ${spaceName} and its active peerings only, never the internet`
      : ranges.length === 0
        ? `Space ${spaceName} only: the trusted IP ranges are empty, so nobody outside the Space`
        : `Space ${spaceName}, and from outside only the trusted IP ranges ${ranges.join(', ')}`,
    port: app.spec.port,
    defaultDomain: primary,
    customDomains: custom.sort(),
    ...(hasDnsDiscovery(app, space) ? { discoveryName: processDiscoveryName(app) } : {}),
    selector: labelText(appSelector(app)),
    ...(dryRun ? { dryRun } : {}),
  };
}

export function formatCreated(v: CreatedView): string {
  const suffix = v.dryRun === 'client' ? ' (dry run)' : v.dryRun === 'server' ? ' (server dry run)' : '';
  const head = `app.privatespaces.dev/${v.app} created${suffix} in Space ${v.space} (namespace ${v.namespace})\n`;
  const body = fields(
    [
      ['Routing', `${v.routing}: reachable from ${v.reachableFrom}`],
      ['Port', String(v.port)],
      ['Default domain', v.defaultDomain],
      ['Custom domains', list(v.customDomains)],
      ['Discovery name', v.discoveryName ?? '<none> (DNS service discovery is off)'],
    ],
    '  ',
  );
  const tail =
    `The names resolve inside the cluster while a pod labelled ${v.selector} is Ready.\n` +
    `Check it with: kubectl spaces doctor ${v.app} -n ${v.namespace}\n`;
  return head + body + tail;
}

/** As `kubectl -o yaml` shows objects: without metadata.managedFields. */
function withoutManagedFields(app: App): App {
  const { managedFields: _drop, ...metadata } = app.metadata as App['metadata'] & { managedFields?: unknown };
  return { ...app, metadata };
}

/** The output for a created (or dry-run) App: -o yaml/json print the object, else the view. */
export function createdOutput(
  app: App,
  space: Space,
  o: Pick<CreateAppOptions, 'dryRun' | 'output'>,
): string {
  return structured(o.output, withoutManagedFields(app)) ?? formatCreated(createdView(app, space, o.dryRun));
}

// --- fetch ---------------------------------------------------------------------------------

export async function runCreateApp(kube: Kube, o: CreateAppOptions): Promise<string> {
  const space = await kube.getSpace(o.space).catch((err: unknown) => {
    throw apiFailure(err, `reading Space ${o.space}`);
  });
  if (!space) {
    throw notFound(
      `Space "${o.space}"`,
      'list the Spaces with kubectl get spaces; an App is created in an existing Space',
    );
  }
  const ns = spaceNamespaceName(space);
  if (kube.namespaceGiven && kube.namespace !== ns) {
    throw usageError(
      `-n ${kube.namespace} conflicts with --space ${o.space}: the App lives in its Space's namespace "${ns}"`,
      `drop -n, or pass -n ${ns}`,
    );
  }
  const app = buildApp(o, space);
  checkApp(app, space);
  if (o.dryRun === 'client') return createdOutput(app, space, o);
  const created = await kube.createApp(app, o.dryRun === 'server').catch((err: unknown) => {
    throw createFailure(err, app, space);
  });
  return createdOutput(created, space, o);
}

function createFailure(err: unknown, app: App, space: Space): CliError {
  const ns = app.metadata.namespace ?? '';
  if (err instanceof ApiError && err.status.code === 404 && err.status.details?.kind === 'namespaces') {
    return new CliError(
      `namespace "${ns}" of Space ${space.metadata.name} does not exist yet`,
      EXIT.error,
      `the operator creates it; wait for the Space: kubectl wait --for=condition=Ready space/${space.metadata.name}`,
    );
  }
  if (err instanceof ApiError && err.status.code === 409) {
    return new CliError(
      `App ${ns}/${app.metadata.name} already exists`,
      EXIT.error,
      `pick another name, or look at it: kubectl spaces doctor ${app.metadata.name} -n ${ns}`,
    );
  }
  return apiFailure(err, `creating App ${ns}/${app.metadata.name}`);
}

export const DEFAULT_PORT = DEFAULT_APP_PORT;
