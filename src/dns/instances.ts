// DNS discovery straight to pods (pure): the numbered instances of each process, their hosts
// lines and the Space's TXT zone.
//
//   <process>.<app>.app.localspace       A: every ready pod of the process
//   <n>.<process>.<app>.app.localspace   A: the pod numbered n (1-based, like Heroku's web.2)
//   _apps.app.localspace                 TXT: one string per App of the Space with discovery on
//   _instances.<app>.app.localspace      TXT: one string per ready pod, "<process>.<n> <ip> <pod>"
//
// Numbers are kept in the hosts key itself: every numbered pod's line ends in "# <pod>", and a
// pod that is not ready keeps its number on a comment line ("# <n>.<process>… # <pod>"). The
// next render (also after an operator restart: the live ConfigMap is read back) gives each pod
// that still lives the number it had; a new pod takes the lowest free number. A container restart
// keeps the pod (and its number); a replaced pod is a new pod and takes the lowest free number,
// usually the one its predecessor left. The TXT names are not below <process>.<app>, so a process
// without ready pods stays NXDOMAIN rather than an empty non-terminal.
import { LOCALSPACE_ZONE, compareStrings } from './names.ts';
import type { DnsApp, DnsInstance, DnsPod } from './types.ts';

/** Prefix of every key the operator owns in the shared ConfigMap (as in render.ts). */
const PREFIX = 'privatespaces.';

/** The key (file) of a Space's TXT zone for app.localspace. */
export function txtKey(space: string): string {
  return `${PREFIX}${space}.db`;
}

const NUMBERED =
  /(?:^|\s)(\d+)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.app\.localspace(?=\s|$)/;
const POD = /# (\S+)$/;

/** `app\0process\0pod` → number, from a Space's previous hosts file. */
export function previousNumbers(hostsFile: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (hostsFile ?? '').split('\n')) {
    const found = numberedPod(line);
    if (found && !out.has(found.key)) out.set(found.key, found.n);
  }
  return out;
}

// A numbered pod's line (or kept number): its key and number.
function numberedPod(line: string): { key: string; n: number } | undefined {
  const m = NUMBERED.exec(line);
  const pod = POD.exec(line);
  if (!m || !pod) return undefined;
  const n = Number(m[1]);
  if (!Number.isSafeInteger(n) || n < 1) return undefined;
  return { key: numberKey(m[4] ?? '', m[2] ?? '', pod[1] ?? ''), n };
}

export const numberKey = (app: string, process: string, pod: string): string =>
  `${app}\u0000${process}\u0000${pod}`;

/**
 * Numbers for the live pods of one process: a pod keeps its previous number unless another pod
 * already holds it (then it is new again); new pods, by name, take the lowest free numbers.
 */
export function assignNumbers(
  pods: readonly DnsPod[],
  previous: (pod: string) => number | undefined,
): { pod: DnsPod; n: number }[] {
  const sorted = [...pods].sort((a, b) => compareStrings(a.name, b.name));
  const used = new Set<number>();
  const out: { pod: DnsPod; n: number }[] = [];
  const fresh: DnsPod[] = [];
  for (const pod of sorted) {
    const n = previous(pod.name);
    if (n !== undefined && !used.has(n)) {
      used.add(n);
      out.push({ pod, n });
    } else fresh.push(pod);
  }
  let next = 1;
  for (const pod of fresh) {
    while (used.has(next)) next++;
    used.add(next);
    out.push({ pod, n: next });
  }
  return out.sort((a, b) => a.n - b.n);
}

/** Every numbered pod of an App's processes (web first, as given), by process then number. */
export function appInstances(app: DnsApp, previous: Map<string, number>): DnsInstance[] {
  return (app.processes ?? []).flatMap((proc) =>
    assignNumbers(proc.pods, (pod) => previous.get(numberKey(app.name, proc.name, pod))).map(
      ({ pod, n }) => ({
        process: proc.name,
        n,
        pod: pod.name,
        ip: pod.ip,
        ready: pod.ready && pod.ip !== '',
      }),
    ),
  );
}

const processName = (app: string, process: string): string => `${process}.${app}.${LOCALSPACE_ZONE}`;

/** The hosts lines of an App's instances: A records for ready pods, a kept number for the others. */
export function instanceLines(app: string, instances: readonly DnsInstance[]): string {
  return instances
    .map((i) => {
      const all = processName(app, i.process);
      const one = `${i.n}.${all}`;
      return i.ready ? `${i.ip} ${all} ${one} # ${i.pod}\n` : `# ${one} # ${i.pod}\n`;
    })
    .join('');
}

/** The TXT zone lines of an App: its `_apps` string and one `_instances` string per ready pod. */
export function txtLines(app: string, instances: readonly DnsInstance[]): string {
  const ready = instances.filter((i) => i.ready);
  return (
    `_apps IN TXT "${app}"\n` +
    ready.map((i) => `_instances.${app} IN TXT "${i.process}.${i.n} ${i.ip} ${i.pod}"\n`).join('')
  );
}

const SOA_LINE = /^@ IN SOA \S+ \S+ (\d+) /m;

/**
 * A Space's TXT zone file for app.localspace: `body` (the records) under an SOA whose serial
 * grows by one whenever the body differs from the previous file's (the `file` plugin reloads a
 * zone only when its serial grows). Zero-padded to 10 digits, so its size never changes.
 */
export function txtZone(body: string, previous: string | undefined, ttl: number, header: string): string {
  const prevSerial = Number(SOA_LINE.exec(previous ?? '')?.[1] ?? '0');
  const prevBody = previous === undefined ? undefined : bodyOf(previous);
  const serial = prevBody === body ? Math.max(prevSerial, 1) : (prevSerial % 4_294_967_295) + 1;
  return (
    `${header}$TTL ${ttl}\n` +
    `@ IN SOA ns.dns.privatespaces.dev. hostmaster.privatespaces.dev. ${String(serial).padStart(10, '0')} 3600 600 86400 ${ttl}\n` +
    body
  );
}

// The records of a zone file we wrote: every line after the SOA.
function bodyOf(file: string): string {
  const i = file.search(SOA_LINE);
  if (i < 0) return '\u0000';
  const end = file.indexOf('\n', i);
  return end < 0 ? '' : file.slice(end + 1);
}
