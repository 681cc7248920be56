// DNS discovery straight to pods: record sets per process, stable numbers, TXT, per-Space
// isolation and the byte budget (render + instances, pure).
import { describe, expect, it } from 'vitest';
import { assignNumbers, previousNumbers, txtKey, txtZone } from './instances.ts';
import { CONFIGMAP_MAX_BYTES, KEYS, hostsKey, renderCoreDNS } from './render.ts';
import type { DnsApp, DnsPod, DnsSpace } from './types.ts';

const pod = (name: string, ip: string, ready = true): DnsPod => ({ name, ip, ready });

const billing = (web: DnsPod[], worker: DnsPod[] = [], over: Partial<DnsApp> = {}): DnsApp => ({
  name: 'billing',
  namespace: 'acme',
  clusterIP: '10.96.0.10',
  ready: true,
  names: ['billing.acme.spaces.local', 'web.billing.app.localspace'],
  created: '2025-01-01T00:00:00Z',
  processes: [
    { name: 'web', pods: web },
    { name: 'worker', pods: worker },
  ],
  ...over,
});

const acme = (apps: DnsApp[]): DnsSpace => ({
  space: 'acme',
  dnsDomain: 'acme.spaces.local',
  created: '2024-01-01T00:00:00Z',
  apps,
});

const records = (hosts: string | undefined, name: string): string[] =>
  (hosts ?? '')
    .split('\n')
    .map((l) => l.replace(/#.*$/, '').trim().split(/\s+/))
    .filter((w) => w.length > 1 && w.slice(1).includes(name))
    .map((w) => w[0]!)
    .sort();

describe('discovery records', () => {
  const web = [pod('billing-web-a', '10.0.0.5'), pod('billing-web-b', '10.0.0.6')];
  const worker = [pod('billing-worker-a', '10.0.0.7')];

  it('answers <process>.<app> with every ready pod of the process, never the ClusterIP', () => {
    const r = renderCoreDNS([acme([billing([...web, pod('billing-web-c', '10.0.0.8', false)], worker)])]);
    const hosts = r.data[hostsKey('acme')];
    expect(records(hosts, 'web.billing.app.localspace')).toEqual(['10.0.0.5', '10.0.0.6']);
    expect(records(hosts, 'worker.billing.app.localspace')).toEqual(['10.0.0.7']);
    expect(records(hosts, 'billing.acme.spaces.local')).toEqual(['10.96.0.10']);
    expect(hosts).not.toMatch(/10\.96\.0\.10 .*app\.localspace/);
    expect(r.published['acme/billing']).toEqual(['billing.acme.spaces.local', 'web.billing.app.localspace']);
  });

  it('answers <n>.<process>.<app> with exactly one pod, numbered from 1', () => {
    const r = renderCoreDNS([acme([billing(web, worker)])]);
    const hosts = r.data[hostsKey('acme')];
    expect(records(hosts, '1.web.billing.app.localspace')).toEqual(['10.0.0.5']);
    expect(records(hosts, '2.web.billing.app.localspace')).toEqual(['10.0.0.6']);
    expect(records(hosts, '3.web.billing.app.localspace')).toEqual([]);
    expect(records(hosts, '1.worker.billing.app.localspace')).toEqual(['10.0.0.7']);
    expect(r.instances['acme/billing']).toEqual([
      { process: 'web', n: 1, pod: 'billing-web-a', ip: '10.0.0.5', ready: true },
      { process: 'web', n: 2, pod: 'billing-web-b', ip: '10.0.0.6', ready: true },
      { process: 'worker', n: 1, pod: 'billing-worker-a', ip: '10.0.0.7', ready: true },
    ]);
  });

  it('keeps numbers across renders and restarts (read back from the live ConfigMap); a new pod takes the lowest free', () => {
    const first = renderCoreDNS([acme([billing(web)])]);
    // billing-web-a is replaced by billing-web-z (sorts last): z takes number 1, b keeps 2.
    const second = renderCoreDNS(
      [acme([billing([pod('billing-web-b', '10.0.0.6'), pod('billing-web-z', '10.0.0.9')])])],
      {
        previous: first.data,
      },
    );
    const hosts = second.data[hostsKey('acme')];
    expect(records(hosts, '2.web.billing.app.localspace')).toEqual(['10.0.0.6']);
    expect(records(hosts, '1.web.billing.app.localspace')).toEqual(['10.0.0.9']);
    // Without the previous data (a first render), names would sort: b=1, z=2.
    const fresh = renderCoreDNS([
      acme([billing([pod('billing-web-b', '10.0.0.6'), pod('billing-web-z', '10.0.0.9')])]),
    ]);
    expect(records(fresh.data[hostsKey('acme')], '1.web.billing.app.localspace')).toEqual(['10.0.0.6']);
  });

  it('a pod that is not ready keeps its number (a comment line), but answers nothing', () => {
    const first = renderCoreDNS([acme([billing(web)])]);
    const down = [pod('billing-web-a', '10.0.0.5', false), pod('billing-web-b', '10.0.0.6')];
    const second = renderCoreDNS([acme([billing([...down, pod('billing-web-c', '10.0.0.8')])])], {
      previous: first.data,
    });
    const hosts = second.data[hostsKey('acme')];
    expect(records(hosts, '1.web.billing.app.localspace')).toEqual([]);
    expect(records(hosts, '3.web.billing.app.localspace')).toEqual(['10.0.0.8']);
    expect(records(hosts, 'web.billing.app.localspace')).toEqual(['10.0.0.6', '10.0.0.8']);
    expect(hosts).toContain('# 1.web.billing.app.localspace # billing-web-a\n');
  });

  it("lists the Space's apps and each app's ready instances in TXT, in the Space's own zone file", () => {
    const other: DnsApp = { ...billing([pod('api-web-a', '10.0.1.5')]), name: 'api', names: [] };
    const r = renderCoreDNS([acme([billing(web, worker), other])]);
    const zone = r.data[txtKey('acme')]!;
    expect(zone).toContain('_apps IN TXT "api"\n');
    expect(zone).toContain('_apps IN TXT "billing"\n');
    expect(zone).toContain('_instances.billing IN TXT "web.2 10.0.0.6 billing-web-b"\n');
    expect(zone).toContain('_instances.billing IN TXT "worker.1 10.0.0.7 billing-worker-a"\n');
    expect(zone).toContain('_instances.api IN TXT "web.1 10.0.1.5 api-web-a"\n');
    expect(zone).toMatch(/^@ IN SOA .* 0000000001 /m);
    expect(r.data[KEYS.server]).toContain('file /etc/coredns/custom/privatespaces.acme.db app.localspace {');
  });

  it("raises the TXT zone's serial only when its records change (the file plugin reloads on a higher serial)", () => {
    const first = renderCoreDNS([acme([billing(web)])]);
    const same = renderCoreDNS([acme([billing(web)])], { previous: first.data });
    expect(same.data[txtKey('acme')]).toBe(first.data[txtKey('acme')]);
    const changed = renderCoreDNS([acme([billing(web.slice(0, 1))])], { previous: same.data });
    expect(changed.data[txtKey('acme')]).toMatch(/ 0000000002 /);
  });

  it('gives no discovery records to an App with discovery off (no processes), nor to another Space', () => {
    const off = billing(web, [], { processes: undefined });
    const beta: DnsSpace = {
      space: 'beta',
      dnsDomain: 'beta.spaces.local',
      apps: [{ ...billing([pod('billing-web-x', '10.1.0.5')]), namespace: 'beta' }],
    };
    const r = renderCoreDNS([acme([off]), beta]);
    expect(r.data[hostsKey('acme')]).not.toContain('app.localspace');
    expect(r.data[txtKey('acme')]).not.toContain('IN TXT');
    expect(records(r.data[hostsKey('beta')], 'web.billing.app.localspace')).toEqual(['10.1.0.5']);
    expect(r.data[hostsKey('beta')]).not.toContain('10.0.0.');
    expect(r.published['acme/billing']).toEqual(['billing.acme.spaces.local']);
    // The view-less block (everyone else) has no hosts and no TXT zone: NXDOMAIN for all of it.
    const rest = r.data[KEYS.server]!.split('# Everyone else')[1]!;
    expect(rest).not.toMatch(/hosts|\.db app\.localspace/);
  });

  it('counts every pod line and TXT record against the Space share, exactly', () => {
    const many = Array.from({ length: 50 }, (_, i) =>
      pod(`billing-web-${String(i).padStart(3, '0')}`, `10.0.1.${i}`),
    );
    const spaces = [acme([billing(many)])];
    const full = renderCoreDNS(spaces);
    const empty = renderCoreDNS([acme([])]);
    const need = full.bytes - empty.bytes;
    expect(need).toBeGreaterThan(50 * 130); // ~145 bytes a pod: its hosts line and its TXT record
    const short = renderCoreDNS(spaces, { maxBytes: full.bytes - 1 });
    expect(short.published).toEqual({});
    expect(short.conflicts.map((c) => c.reason)).toEqual(['capacity', 'capacity']);
    expect(short.data[hostsKey('acme')]).not.toContain('app.localspace');
    const exact = renderCoreDNS(spaces, { maxBytes: full.bytes });
    expect(exact.conflicts).toEqual([]);
    expect(exact.bytes).toBe(full.bytes);
  });

  it('budget: 4,000 ready pods (10 Spaces, 20-character app names, ReplicaSet pod names) fit one ConfigMap', () => {
    const spaces: DnsSpace[] = [];
    for (let s = 0; s < 10; s++) {
      const apps: DnsApp[] = [];
      for (let a = 0; a < 40; a++) {
        const name = `app-${String(s * 40 + a).padStart(6, '0')}-abcdefghij`;
        const pods = Array.from({ length: 10 }, (_, i) =>
          pod(`${name}-7d9f8c6b5-${String(i).padStart(5, 'x')}`, `10.${s}.${a}.${i}`),
        );
        apps.push({
          name,
          namespace: `space-${s}`,
          clusterIP: `10.96.${s}.${a}`,
          ready: true,
          names: [`${name}.space-${s}.spaces.local`, `web.${name}.app.localspace`],
          created: '2025-01-01T00:00:00Z',
          processes: [{ name: 'web', pods }],
        });
      }
      spaces.push({ space: `space-${s}`, dnsDomain: `space-${s}.spaces.local`, apps });
    }
    const r = renderCoreDNS(spaces);
    expect(r.conflicts).toEqual([]);
    expect(r.bytes).toBeLessThanOrEqual(CONFIGMAP_MAX_BYTES);
    // Measured: ~240 bytes per pod all included (its hosts line with number and pod name ~130,
    // its TXT record ~95, a tenth of its App's router line, _apps record and the frame).
    expect(r.bytes / 4000).toBeGreaterThan(200);
    expect(r.bytes / 4000).toBeLessThan(250);
  });
});

describe('instance numbers', () => {
  it('gives new pods the lowest free numbers, by name', () => {
    const got = assignNumbers([pod('c', '1'), pod('a', '2'), pod('b', '3')], (p) =>
      p === 'c' ? 2 : undefined,
    );
    expect(got.map((g) => [g.pod.name, g.n])).toEqual([
      ['a', 1],
      ['c', 2],
      ['b', 3],
    ]);
  });

  it('never gives one number twice (a corrupt previous file): the second holder is new again', () => {
    const got = assignNumbers([pod('a', '1'), pod('b', '2')], () => 1);
    expect(got.map((g) => [g.pod.name, g.n])).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
  });

  it('reads numbers back from ready lines and from kept-number comments only', () => {
    const file =
      '# Generated by spaces-operator\n' +
      '10.96.0.10 billing.acme.spaces.local\n' +
      '10.0.0.5 web.billing.app.localspace 3.web.billing.app.localspace # billing-web-a\n' +
      '# 4.web.billing.app.localspace # billing-web-b\n' +
      '10.0.0.7 worker.billing.app.localspace 1.worker.billing.app.localspace # billing-worker-a\n';
    expect([...previousNumbers(file)].map(([k, n]) => [k.split('\u0000').join('/'), n])).toEqual([
      ['billing/web/billing-web-a', 3],
      ['billing/web/billing-web-b', 4],
      ['billing/worker/billing-worker-a', 1],
    ]);
  });

  it('serials start at 1 and are zero-padded, so the zone size never changes with them', () => {
    expect(txtZone('', undefined, 5, '')).toMatch(/ 0000000001 3600 /);
  });
});
