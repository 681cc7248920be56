// The DNS writer: keeps the CoreDNS entries equal to the rendering of the caches (controller.ts),
// fed by views of the shared informers that pass on only what the render reads (views.ts). It
// runs on the leader only; the names it publishes or refuses go to each App's status.
import { podChangedForDns } from '../../dns/snapshot.ts';
import type { Runnable } from '../../engine/index.ts';
import type { DnsNames } from '../context.ts';
import type { ControllerSetup, Registered, SetupContext } from '../setup.ts';
import { DnsController, type DnsControllerOptions, type DnsInformers } from './controller.ts';
import { appServicesOnly, clusterIPChanged, onlyRelevant, readinessChanged, specChanged } from './views.ts';

export { DnsController, DNS_FIELD_MANAGER } from './controller.ts';

/** Where CoreDNS reads the entries and how they are rendered. */
export type DnsSetupOptions = Pick<DnsControllerOptions, 'namespace' | 'configMap' | 'render'>;

/** Views that pass on only the events that can change the entries. */
function dnsViews(inf: SetupContext['informers']): Partial<DnsInformers> {
  return {
    spaces: onlyRelevant(inf.spaces, specChanged),
    apps: onlyRelevant(inf.apps, specChanged),
    services: appServicesOnly(onlyRelevant(inf.services, clusterIPChanged)),
    endpointSlices: onlyRelevant(inf.endpointSlices, readinessChanged),
    // DNS discovery to pods: a pod's readiness, IP or labels.
    pods: onlyRelevant(inf.pods, { update: podChangedForDns }),
  };
}

/**
 * Of the Apps whose DNS answer changed, those that did not read the answer they have now (`read`:
 * the answer each App's reconcile last read through `ctx.dnsNames`; without it, all of them). An
 * App no longer rendered is forgotten.
 */
export function unread(
  keys: readonly string[],
  read: Map<string, DnsNames | undefined> | undefined,
  now: (key: string) => DnsNames | undefined,
): string[] {
  if (read === undefined) return [...keys];
  return keys.filter((k) => {
    const answer = now(k);
    const queue = !read.has(k) || read.get(k) !== answer;
    if (answer === undefined) read.delete(k);
    return queue;
  });
}

function setup(ctx: SetupContext): Registered | undefined {
  if (ctx.dns === false) return undefined;
  const app = ctx.controllers.get('app');
  const dns = new DnsController({
    ...ctx.dns,
    // The render checks the platform's allowed suffixes again: an object admitted before the
    // rule (or while the webhook was down) is never served.
    render: { allowedSuffixes: ctx.settings.allowedDnsSuffixes, ...ctx.dns.render },
    api: ctx.api,
    logger: ctx.log,
    clock: ctx.clock,
    informers: dnsViews(ctx.informers),
    // The names an App answers for (or is refused) go to its status: queued unless its last
    // reconcile read this very answer already (the render came before the App's turn).
    onNamesChanged: (keys) => {
      for (const k of unread(keys, read, (key) => dns.names(key))) app?.enqueue?.(k);
    },
  });
  // What each App's reconcile last read (it reads only through here).
  const read = new Map<string, DnsNames | undefined>();
  ctx.dnsNames = (key) => {
    const answer = dns.names(key);
    read.set(key, answer);
    return answer;
  };
  const runnable: Runnable = {
    name: 'dns',
    needLeaderElection: true,
    start: () => dns.start(),
    stop: () => dns.stop(),
  };
  ctx.manager.add(runnable);
  return {};
}

export const dns: ControllerSetup = { name: 'dns', setup };
