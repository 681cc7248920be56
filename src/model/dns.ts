// The names an App answers to: <app>.<space dnsDomain>, its custom domains, and (DNS service
// discovery, cedar only) web.<app>.app.localspace. Pure.
import type { App } from '../api/v1alpha1/app.ts';
import type { Space } from '../api/v1alpha1/space.ts';
import { WEB_PROCESS } from './labels.ts';
import { spaceDnsDomain } from './space.ts';

/** Zone of DNS service discovery: <process>.<app>.app.localspace and <n>.<process>.<app>.app.localspace. */
export const DISCOVERY_ZONE = 'app.localspace';

/** <app>.<dnsDomain>: the default domain (Heroku's <app>.herokuapp.com). */
export function appDefaultDomain(
  app: Pick<App, 'metadata'>,
  space: Pick<Space, 'metadata' | 'spec'>,
): string {
  return `${app.metadata.name}.${spaceDnsDomain(space)}`;
}

/** `_apps.app.localspace`: TXT, the Space's Apps that have discovery on (one string each). */
export const APPS_TXT_NAME = `_apps.${DISCOVERY_ZONE}`;

/** `_instances.<process>.<app>.app.localspace`: TXT, one string per pod, `<n> <ip> <pod>`. */
export function instancesTxtName(app: Pick<App, 'metadata'>, process: string = WEB_PROCESS): string {
  return `_instances.${processDiscoveryName(app, process)}`;
}

/** `<n>.<process>.<app>.app.localspace`: one pod, numbered from 1. */
export function instanceDiscoveryName(app: Pick<App, 'metadata'>, process: string, n: number): string {
  return `${n}.${processDiscoveryName(app, process)}`;
}

/** <process>.<app>.app.localspace: every dyno of one process type. */
export function processDiscoveryName(app: Pick<App, 'metadata'>, process: string = WEB_PROCESS): string {
  return `${process}.${app.metadata.name}.${DISCOVERY_ZONE}`;
}

/**
 * Whether DNS service discovery applies: the App does not turn it off and the Space is not fir
 * (Heroku: not on Fir; validateApp refuses an explicit true there).
 */
export function hasDnsDiscovery(app: Pick<App, 'spec'>, space: Pick<Space, 'spec'>): boolean {
  return app.spec.dnsDiscovery !== false && space.spec.generation !== 'fir';
}

/**
 * Default domain first, then the custom domains (lower-cased, sorted, without duplicates or the
 * default domain), then web.<app>.app.localspace when DNS discovery applies.
 */
export function appDnsNames(app: App, space: Space): string[] {
  const primary = appDefaultDomain(app, space);
  const custom = [...new Set((app.spec.domains ?? []).map((d) => d.toLowerCase()))]
    .filter((d) => d !== primary)
    .sort();
  return [primary, ...custom, ...(hasDnsDiscovery(app, space) ? [processDiscoveryName(app)] : [])];
}

/** `example.com`, `.example.com` and `Example.COM.` are the same suffix: lower case, no outer dots. */
export function normalizeSuffix(suffix: string): string {
  return suffix
    .trim()
    .toLowerCase()
    .replace(/^\.+|\.+$/g, '');
}

/** True when `name` is `suffix` or below it (`a.example.com` and `example.com` under `example.com`). */
export function underSuffix(name: string, suffix: string): boolean {
  const n = normalizeSuffix(name);
  const s = normalizeSuffix(suffix);
  return s.length > 0 && (n === s || n.endsWith(`.${s}`));
}

/** The first allowed suffix `name` falls under, or undefined. */
export function allowedSuffixOf(name: string, allowed: readonly string[]): string | undefined {
  return allowed.find((s) => underSuffix(name, s));
}

/** Zones no Space domain or custom domain may be in or above: the cluster's own DNS and discovery. */
export function reservedDnsZones(clusterDomain = 'cluster.local'): string[] {
  return [normalizeSuffix(clusterDomain), 'in-addr.arpa', 'ip6.arpa', 'localhost', DISCOVERY_ZONE];
}

/** The reserved zone `name` is in or above, or undefined. */
export function reservedZoneOf(name: string, clusterDomain?: string): string | undefined {
  return reservedDnsZones(clusterDomain).find((z) => underSuffix(name, z) || underSuffix(z, name));
}
