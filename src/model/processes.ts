// An App's process types (Heroku's web, worker, ...): which pods each one is, and which of them
// the router-facing parts (the Service, the default and custom domains, the Internal Routing
// policy) belong to: `web` only. Pure.
//
//   spec.processes given:  those entries; a process without a selector selects
//                          {privatespaces.dev/app: <app>, privatespaces.dev/process: <name>};
//                          the web entry's port wins over spec.port.
//   the older form:        spec.selector (default {privatespaces.dev/app: <app>}) and spec.port
//                          are one web process.
// An App whose processes name no `web` still has a web selector (the default one of the new
// form, {app, process: web}), so its Service and policy select only pods that say they are web.
import type { App } from '../api/v1alpha1/app.ts';
import { checkLabels, isDnsLabel } from './checks.ts';
import { processDiscoveryName } from './dns.ts';
import { APP_LABEL, PROCESS_LABEL, WEB_PROCESS, sortedLabels } from './labels.ts';
import type { FieldError } from './types.ts';

export interface AppProcess {
  name: string;
  /** matchLabels of its pods, keys sorted. */
  selector: Record<string, string>;
  /** The web process's port; undefined for the others. */
  port?: number;
  /** spec.processes[i].selector.matchLabels, or spec.selector.matchLabels for the older form. */
  field: string;
}

type AppLike = Pick<App, 'metadata' | 'spec'>;

/** The default selector of process `name` in the spec.processes form. */
export function defaultProcessSelector(app: Pick<App, 'metadata'>, name: string): Record<string, string> {
  return sortedLabels({ [APP_LABEL]: app.metadata.name, [PROCESS_LABEL]: name });
}

const nonEmpty = (l: Record<string, string> | undefined): l is Record<string, string> =>
  l !== undefined && Object.keys(l).length > 0;

/** Every declared process, web first, then by name. The older form gives one web process. */
export function appProcesses(app: AppLike): AppProcess[] {
  const list = app.spec.processes;
  if (list === undefined || list.length === 0) {
    const given = app.spec.selector?.matchLabels;
    return [
      {
        name: WEB_PROCESS,
        selector: nonEmpty(given) ? sortedLabels(given) : { [APP_LABEL]: app.metadata.name },
        port: app.spec.port,
        field: 'spec.selector.matchLabels',
      },
    ];
  }
  return list
    .map((p, i) => ({
      name: p.name,
      selector: nonEmpty(p.selector?.matchLabels)
        ? sortedLabels(p.selector.matchLabels)
        : defaultProcessSelector(app, p.name),
      ...(p.name === WEB_PROCESS ? { port: p.port ?? app.spec.port } : {}),
      field: `spec.processes[${i}].selector.matchLabels`,
    }))
    .sort((a, b) => (a.name === WEB_PROCESS ? -1 : b.name === WEB_PROCESS ? 1 : a.name < b.name ? -1 : 1));
}

/** The web process (declared or, when spec.processes names none, the implied one its Service selects). */
export function webProcess(app: AppLike): AppProcess {
  const declared = appProcesses(app).find((p) => p.name === WEB_PROCESS);
  return (
    declared ?? {
      name: WEB_PROCESS,
      selector: defaultProcessSelector(app, WEB_PROCESS),
      port: app.spec.port,
      field: 'spec.processes',
    }
  );
}

/** Whether some pod could carry labels both selectors (matchLabels) require: no key with two values. */
function overlap(a: Record<string, string>, b: Record<string, string>): boolean {
  return Object.entries(a).every(([k, v]) => !Object.hasOwn(b, k) || b[k] === v);
}

/**
 * What CEL holds for spec.processes (names, web once, port only for web, not with spec.selector),
 * plus what it cannot: two processes of the App whose selectors could pick the same pod.
 */
export function processErrors(app: AppLike): FieldError[] {
  const list = app.spec.processes;
  if (list === undefined) return [];
  const errors: FieldError[] = [];
  if (app.spec.selector) {
    errors.push({
      field: 'spec.selector',
      message:
        'spec.selector cannot be given together with spec.processes: move it to the web entry of spec.processes',
    });
  }
  list.forEach((p, i) => {
    const field = `spec.processes[${i}]`;
    if (!isDnsLabel(p.name))
      errors.push({ field: `${field}.name`, message: `"${p.name}" is not a DNS label (e.g. web, worker)` });
    else if (list.findIndex((q) => q.name === p.name) !== i)
      errors.push({ field: `${field}.name`, message: `process "${p.name}" is listed twice; remove one` });
    if (p.port !== undefined && p.name !== WEB_PROCESS) {
      errors.push({
        field: `${field}.port`,
        message: `only the web process has a port; remove port from process "${p.name}"`,
      });
    }
    if (p.selector) errors.push(...checkLabels(p.selector.matchLabels, `${field}.selector.matchLabels`));
  });
  if (errors.length > 0) return errors;
  const procs = appProcesses(app);
  procs.forEach((p, i) => {
    const other = procs.slice(0, i).find((q) => overlap(p.selector, q.selector));
    if (other) {
      errors.push({
        field: p.field,
        message: `the selector of process "${p.name}" can select the same pods as process "${other.name}"'s; give them a common label key with different values, e.g. the default privatespaces.dev/process=<name>`,
      });
    }
  });
  return errors;
}

/** What is read of a pod to count a process's pods (a V1Pod fits). */
export interface ProcessPod {
  metadata?: { labels?: Record<string, string>; deletionTimestamp?: unknown };
  status?: { phase?: string; conditions?: readonly { type: string; status: string }[] };
}

/** One entry of App status.processes: ready and live pods, and the discovery name while it is on. */
export interface ProcessCount {
  name: string;
  ready: number;
  total: number;
  /** `<process>.<app>.app.localspace`, only while DNS discovery is on for the App. */
  discovery?: string;
}

const isLivePod = (pod: ProcessPod): boolean => {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata?.deletionTimestamp;
};

const isReadyPod = (pod: ProcessPod): boolean =>
  (pod.status?.conditions ?? []).some((x) => x.type === 'Ready' && x.status === 'True');

/**
 * Per process (web first, then by name): the live pods (not Succeeded, Failed or deleting) its
 * selector matches and how many of them are Ready; a pod counts once, for the first process that
 * selects it. `discovery` (the DNS discovery check, hasDnsDiscovery) adds the discovery names.
 */
export function processStatus(app: AppLike, pods: readonly ProcessPod[], discovery: boolean): ProcessCount[] {
  const procs = appProcesses(app);
  const counts = procs.map((p) => ({
    name: p.name,
    ready: 0,
    total: 0,
    ...(discovery ? { discovery: processDiscoveryName(app, p.name) } : {}),
  }));
  for (const pod of pods.filter(isLivePod)) {
    const labels = pod.metadata?.labels ?? {};
    const i = procs.findIndex((p) => Object.entries(p.selector).every(([k, v]) => labels[k] === v));
    const c = counts[i];
    if (!c) continue;
    c.total++;
    if (isReadyPod(pod)) c.ready++;
  }
  return counts;
}
