import { describe, expect, it } from 'vitest';
import { CONFIGMAP_MAX_BYTES, KEYS, byteSize, hostsKey, renderCoreDNS } from './render.ts';
import { DnsTooLargeError } from './errors.ts';
import { txtKey } from './instances.ts';
import type { DnsApp, DnsSpace } from './types.ts';

/** One ready web pod at `ip` (DNS discovery on). */
const webPod = (app: string, ip: string): Pick<DnsApp, 'processes'> => ({
  processes: [{ name: 'web', pods: [{ name: `${app}-web-1`, ip, ready: true }] }],
});

const app = (name: string, over: Partial<DnsApp> = {}, space = 'alpha'): DnsApp => ({
  name,
  namespace: space,
  clusterIP: '10.96.0.10',
  ready: true,
  names: [`${name}.${space}.spaces.local`, `web.${name}.app.localspace`],
  created: '2025-01-01T00:00:00Z',
  ...over,
});

const space = (name: string, apps: DnsApp[], over: Partial<DnsSpace> = {}): DnsSpace => ({
  space: name,
  dnsDomain: `${name}.spaces.local`,
  created: '2024-01-01T00:00:00Z',
  apps,
  ...over,
});

// Every Space's hosts lines, Spaces in name order.
const hostsLines = (data: Record<string, string>): string[] =>
  Object.keys(data)
    .filter((k) => k.endsWith('.hosts'))
    .sort()
    .flatMap((k) => data[k]!.split('\n').filter((l) => l !== '' && !l.startsWith('#')));

const zonesOf = (data: Record<string, string>): string[][] =>
  data[KEYS.server]!.split('\n')
    .filter((l) => l.endsWith(' {') && !l.startsWith(' '))
    .map((l) => l.slice(0, -2).split(' '));

describe('renderCoreDNS', () => {
  it('renders one hosts line per ready app, and the zones of every space and custom domain', () => {
    const r = renderCoreDNS(
      [
        space('alpha', [
          app('shop', { names: ['shop.alpha.spaces.local', 'www.shop.example', 'web.shop.app.localspace'] }),
          app('idle', {
            ready: false,
            clusterIP: '10.96.0.11',
            names: ['idle.alpha.spaces.local', 'idle.example.org'],
          }),
        ]),
        space('beta', []),
      ],
      { dir: '/etc/coredns/custom' },
    );
    // Router names on the ClusterIP; web.shop.app.localspace answers with pods (none given here).
    expect(hostsLines(r.data)).toEqual(['10.96.0.10 shop.alpha.spaces.local www.shop.example']);
    // One block per Space (its view), then everyone else's. Zones do not depend on readiness:
    // idle's custom domain is a zone although idle is not ready.
    expect(zonesOf(r.data)).toEqual([
      ['alpha.spaces.local', 'app.localspace', 'idle.example.org', 'www.shop.example'],
      ['app.localspace', 'beta.spaces.local'],
      ['alpha.spaces.local', 'app.localspace', 'beta.spaces.local'],
    ]);
    expect(r.data[KEYS.server]).toContain('hosts /etc/coredns/custom/privatespaces.alpha.hosts {');
    expect(r.data[KEYS.server]).toContain('file /etc/coredns/custom/privatespaces.db alpha.spaces.local\n');
    expect(r.data[KEYS.server]).toContain(
      'file /etc/coredns/custom/privatespaces.alpha.db app.localspace {\n        reload 2s\n    }\n',
    );
    expect(r.data[KEYS.server]).toContain('forward . /etc/resolv.conf\n');
    expect(r.data[KEYS.server]).toMatch(
      /\n {4}errors\n {4}file \/etc\/coredns\/custom\/privatespaces.db\n}\n$/,
    );
    expect(Object.keys(r.data).sort()).toEqual([
      txtKey('alpha'),
      hostsKey('alpha'),
      txtKey('beta'),
      hostsKey('beta'),
      KEYS.db,
      KEYS.server,
    ]);
    expect(r.data[KEYS.db]).toContain('@ IN SOA ');
    expect(r.published).toEqual({ 'alpha/shop': ['shop.alpha.spaces.local', 'www.shop.example'] });
    expect(r.conflicts).toEqual([]);
    expect(r.bytes).toBe(byteSize(r.data));
  });

  it("answers a Space's names only to its own namespace's pods (a CoreDNS view on the client namespace)", () => {
    const r = renderCoreDNS([space('alpha', [app('shop')], { namespace: 'alpha-ns' })], {
      kubernetes: { kubeconfig: '/tmp/kubeconfig' },
    });
    const server = r.data[KEYS.server]!;
    const [view, rest] = server.split('# Everyone else');
    expect(view).toContain(
      "    view alpha {\n        expr metadata('kubernetes/client-namespace') == 'alpha-ns'\n    }\n    metadata\n",
    );
    expect(view).toContain(
      '    kubernetes cluster.local {\n        pods verified\n        kubeconfig /tmp/kubeconfig\n',
    );
    // The block everyone else reaches has no view and no hosts: only NXDOMAIN.
    expect(rest).not.toContain('view');
    expect(rest).not.toContain('hosts');
    expect(zonesOf(r.data)).toEqual([
      ['alpha.spaces.local', 'app.localspace'],
      ['alpha.spaces.local', 'app.localspace'],
    ]);
  });

  it('refuses a kubeconfig path that would break the Corefile', () => {
    expect(() => renderCoreDNS([], { kubernetes: { kubeconfig: '/a b' } })).toThrow(TypeError);
  });

  it('renders byte-identical data whatever the input order', () => {
    const apps = [
      app('a'),
      app('b', { clusterIP: '10.96.0.2' }),
      app('c', { names: ['c.example.com', 'c.alpha.spaces.local'] }),
    ];
    const one = renderCoreDNS([space('alpha', apps), space('beta', [app('d', {}, 'beta')])]);
    const two = renderCoreDNS([space('beta', [app('d', {}, 'beta')]), space('alpha', [...apps].reverse())]);
    expect(two.data).toEqual(one.data);
    expect(JSON.stringify(two.data)).toBe(JSON.stringify(one.data));
  });

  it.each([
    ['not ready', { ready: false }],
    ['no ClusterIP yet', { clusterIP: '' }],
    ['headless Service', { clusterIP: 'None' }],
  ])('publishes nothing for an app with %s', (_, over) => {
    const r = renderCoreDNS([space('alpha', [app('shop', over)])]);
    expect(hostsLines(r.data)).toEqual([]);
    expect(r.published).toEqual({});
  });

  it('publishes an IPv6 ClusterIP', () => {
    const r = renderCoreDNS([space('alpha', [app('shop', { clusterIP: 'fd00:10:96::a' })])]);
    expect(hostsLines(r.data)).toEqual(['fd00:10:96::a shop.alpha.spaces.local']);
  });

  it('normalises names (case, trailing dot) and drops duplicates', () => {
    const r = renderCoreDNS([
      space('alpha', [app('shop', { names: ['Shop.Alpha.Spaces.Local.', 'shop.alpha.spaces.local'] })]),
    ]);
    expect(hostsLines(r.data)).toEqual(['10.96.0.10 shop.alpha.spaces.local']);
  });

  it('gives each Space its own discovery name: payments in two Spaces both answer, each to its own pods', () => {
    const a = app('payments', { names: ['web.payments.app.localspace'], ...webPod('payments', '10.0.0.5') });
    const b = app(
      'payments',
      { names: ['web.payments.app.localspace'], clusterIP: '10.96.0.99', ...webPod('payments', '10.1.0.5') },
      'beta',
    );
    const r = renderCoreDNS([space('beta', [b], { created: '2023-01-01T00:00:00Z' }), space('alpha', [a])]);
    expect(r.conflicts).toEqual([]);
    const line = (ip: string): string =>
      `${ip} web.payments.app.localspace 1.web.payments.app.localspace # payments-web-1\n`;
    expect(r.data[hostsKey('alpha')]).toContain(line('10.0.0.5'));
    expect(r.data[hostsKey('alpha')]).not.toContain('10.1.0.5');
    expect(r.data[hostsKey('beta')]).toContain(line('10.1.0.5'));
    expect(r.data[hostsKey('beta')]).not.toContain('10.0.0.5');
    // Never the ClusterIP: discovery goes straight to the pods.
    expect(r.data[hostsKey('alpha')]).not.toContain('10.96.0.10');
    expect(r.published).toEqual({
      'alpha/payments': ['web.payments.app.localspace'],
      'beta/payments': ['web.payments.app.localspace'],
    });
  });

  it.each([['same custom domain', ['www.example.com'], ['www.example.com'], 'name-taken']])(
    'an older app keeps a contested name: %s',
    (_, olderNames, newerNames, reason) => {
      const older = app('shop', { names: olderNames, created: '2025-01-01T00:00:00Z' });
      const newer = app(
        'shop',
        { names: newerNames, clusterIP: '10.96.0.99', created: '2025-02-01T00:00:00Z' },
        'beta',
      );
      // The newer app's space is older and sorts first by name: age of the App decides.
      const r = renderCoreDNS([
        space('beta', [newer], { created: '2023-01-01T00:00:00Z' }),
        space('alpha', [older]),
      ]);
      expect(hostsLines(r.data)).toEqual([`10.96.0.10 ${olderNames[0]}`]);
      expect(r.conflicts).toEqual([
        expect.objectContaining({ reason, name: newerNames[0], app: 'beta/shop', heldBy: 'alpha/shop' }),
      ]);
      expect(r.names['beta/shop']).toEqual({
        published: [],
        refused: [
          {
            name: newerNames[0],
            code: 'NameConflict',
            reason: 'the older App alpha/shop has it',
          },
        ],
      });
    },
  );

  it('breaks a tie in age by space, namespace and name', () => {
    const a = app('shop', { names: ['www.example.com'] });
    const b = app('shop', { names: ['www.example.com'], clusterIP: '10.96.0.99' }, 'beta');
    const r = renderCoreDNS([space('beta', [b]), space('alpha', [a])]);
    expect(r.published).toEqual({ 'alpha/shop': ['www.example.com'] });
  });

  it.each([
    ['another space domain', 'x.beta.spaces.local', 'foreign-domain'],
    ["a sibling's default domain", 'other.alpha.spaces.local', 'foreign-domain'],
    ["another app's discovery name", 'web.other.app.localspace', 'foreign-domain'],
    ['the localspace zone itself', 'app.localspace', 'foreign-domain'],
    ['a parent of a space domain', 'spaces.local', 'foreign-domain'],
    ['the cluster domain', 'evil.svc.cluster.local', 'reserved'],
    ['a parent of the cluster domain (single label)', 'local', 'invalid-name'],
    ['a reverse zone', '10.in-addr.arpa', 'reserved'],
    ['localhost', 'db.localhost', 'reserved'],
    ['an underscore', 'a_b.example.com', 'invalid-name'],
    ['a wildcard', '*.example.com', 'invalid-name'],
    ['a 64-character label', `${'a'.repeat(64)}.example.com`, 'invalid-name'],
  ])('refuses %s (%s)', (_, name, reason) => {
    const r = renderCoreDNS([space('alpha', [app('shop', { names: [name] })]), space('beta', [])]);
    expect(hostsLines(r.data)).toEqual([]);
    expect(r.conflicts).toEqual([expect.objectContaining({ reason, name, app: 'alpha/shop' })]);
  });

  it('refuses a zone another server block of the ConfigMap serves (CoreDNS would not load it twice)', () => {
    const r = renderCoreDNS(
      [space('alpha', [app('shop', { names: ['corp.example.com', 'shop.alpha.spaces.local'] })])],
      {
        foreignZones: ['corp.example.com.'],
      },
    );
    expect(hostsLines(r.data)).toEqual(['10.96.0.10 shop.alpha.spaces.local']);
    expect(r.conflicts).toEqual([expect.objectContaining({ reason: 'reserved', name: 'corp.example.com' })]);
  });

  it('refuses a custom domain above a cluster domain that has two labels or more', () => {
    const r = renderCoreDNS([space('alpha', [app('shop', { names: ['corp.example'] })])], {
      clusterDomain: 'k8s.corp.example',
    });
    expect(r.conflicts).toEqual([expect.objectContaining({ reason: 'reserved', name: 'corp.example' })]);
  });

  it.each([
    ['equal to an older space domain', 'alpha.spaces.local', 'domain-taken'],
    ['inside an older space domain', 'x.alpha.spaces.local', 'domain-taken'],
    ['above an older space domain', 'spaces.local', 'domain-taken'],
    ['overlapping app.localspace', 'localspace', 'invalid-name'],
    ['inside app.localspace', 'x.app.localspace', 'domain-taken'],
    ['inside the cluster domain', 'beta.svc.cluster.local', 'reserved'],
  ])('refuses a space domain %s, and its apps default domains', (_, dnsDomain, reason) => {
    const beta = space(
      'beta',
      [
        app(
          'api',
          { names: [`api.${dnsDomain}`, 'web.api.app.localspace'], ...webPod('api', '10.0.0.9') },
          'beta',
        ),
      ],
      {
        dnsDomain,
        created: '2024-06-01T00:00:00Z',
      },
    );
    const r = renderCoreDNS([beta, space('alpha', [])]);
    expect(r.conflicts[0]).toEqual(expect.objectContaining({ reason, name: dnsDomain, space: 'beta' }));
    expect(r.conflicts[0]!.app).toBeUndefined();
    expect(zonesOf(r.data)[0]).toEqual(['alpha.spaces.local', 'app.localspace']);
    // The discovery name still resolves; the default domain does not.
    expect(r.published).toEqual({ 'beta/api': ['web.api.app.localspace'] });
  });

  it('declares a zone twice only behind views, the block without a view last; a custom zone once', () => {
    const r = renderCoreDNS([
      space('alpha', [
        app('a', { names: ['a.alpha.spaces.local', 'alpha.spaces.local', 'app.localspace', 'x.example'] }),
      ]),
      space('beta', [app('b', { names: ['x.example', 'y.x.example'] }, 'beta')]),
    ]);
    const blocks = r.data[KEYS.server]!.split(/\n(?=[^ #\n][^\n]* \{\n)/).slice(1);
    expect(blocks).toHaveLength(3);
    expect(blocks.slice(0, 2).every((b) => b.includes('\n    view '))).toBe(true);
    expect(blocks[2]).not.toContain('view');
    const custom = zonesOf(r.data)
      .flat()
      .filter((z) => z.endsWith('x.example'));
    expect(custom.sort()).toEqual(['x.example', 'y.x.example']);
  });

  it('refuses names outside the allowed suffixes (not-allowed), but never the Space own domain', () => {
    const spaces = [
      space('alpha', [
        app('shop', {
          names: ['shop.alpha.spaces.local', 'github.com', 'shop.corp.example', 'web.shop.app.localspace'],
          ...webPod('shop', '10.0.0.5'),
        }),
      ]),
      space('beta', [app('api', { names: ['api.amazonaws.com'] }, 'beta')], { dnsDomain: 'amazonaws.com' }),
      space('gamma', [], { dnsDomain: 'gamma.corp.example' }),
    ];
    const r = renderCoreDNS(spaces, { allowedSuffixes: ['corp.example'] });
    expect(r.conflicts.map((c) => [c.reason, c.name])).toEqual([
      ['not-allowed', 'amazonaws.com'],
      ['not-allowed', 'github.com'],
      ['domain-taken', 'api.amazonaws.com'],
    ]);
    expect(r.published['alpha/shop']).toEqual([
      'shop.alpha.spaces.local',
      'shop.corp.example',
      'web.shop.app.localspace',
    ]);
    expect(r.names['alpha/shop']?.refused).toEqual([
      expect.objectContaining({ name: 'github.com', code: 'NotAllowed' }),
    ]);
    expect(zonesOf(r.data).flat()).not.toContain('amazonaws.com');
    expect(zonesOf(r.data).flat()).toContain('gamma.corp.example');
    // Without the option nothing is checked here (the webhook's check stands alone).
    expect(renderCoreDNS(spaces).conflicts).toEqual([]);
  });
});

describe('size', () => {
  // A realistic name: 20-character app names, 10-character space names, ClusterIPs in 10.96/16.
  const many = (n: number, customEvery = 0): DnsSpace[] => {
    const spaces: DnsSpace[] = [];
    for (let s = 0; s < 10; s++) spaces.push(space(`space-${String(s).padStart(4, '0')}`, []));
    for (let i = 0; i < n; i++) {
      const sp = spaces[i % 10]!;
      const name = `app-${String(i).padStart(6, '0')}-abcdefghij`;
      const names = [`${name}.${sp.dnsDomain}`];
      if (customEvery > 0 && i % customEvery === 0) names.push(`www.${name}.example.com`);
      const created = new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString();
      sp.apps.push({
        name,
        namespace: sp.space,
        clusterIP: `10.96.${i >> 8}.${i & 255}`,
        ready: true,
        names,
        created,
      });
    }
    return spaces;
  };

  it('costs about 60 bytes per ready app without discovery: 9,000 apps fit in a ConfigMap', () => {
    const r = renderCoreDNS(many(9000));
    const perApp = r.bytes / 9000;
    expect(perApp).toBeGreaterThan(50);
    expect(perApp).toBeLessThan(70);
    expect(r.conflicts).toEqual([]);
  });

  it(
    'at 20,000 apps admits the oldest that fit, reports the rest, never exceeds 1 MiB',
    { timeout: 30_000 },
    () => {
      const r = renderCoreDNS(many(20_000, 4));
      expect(r.bytes).toBeLessThanOrEqual(CONFIGMAP_MAX_BYTES);
      // Each of the 10 Spaces leaves less than one app's bytes of its share unspent.
      expect(r.bytes).toBeGreaterThan(CONFIGMAP_MAX_BYTES - 10 * 200);
      const over = new Set(r.conflicts.filter((c) => c.reason === 'capacity').map((c) => c.app));
      const served = Object.keys(r.published).length;
      expect(served + over.size).toBe(20_000);
      expect(served).toBeGreaterThan(12_000);
      // The newest apps are the ones left out.
      expect(over.has('space-0009/app-019999-abcdefghij')).toBe(true);
      expect(over.has('space-0000/app-000000-abcdefghij')).toBe(false);
    },
  );

  it("counts a custom domain's zone against its Space's share, exactly", () => {
    const spaces = [space('alpha', [app('a', { names: ['a.alpha.spaces.local', 'a.example.com'] })])];
    let base = 0;
    try {
      renderCoreDNS(spaces, { maxBytes: 0 });
    } catch (err) {
      base = (err as DnsTooLargeError).bytes;
    }
    const line = '10.96.0.10 a.alpha.spaces.local a.example.com\n'.length;
    const short = renderCoreDNS(spaces, { maxBytes: base + line + 5 });
    expect(short.conflicts.map((c) => c.reason)).toEqual(['capacity', 'capacity']);
    expect(short.bytes).toBeLessThanOrEqual(base + line + 5);
    const enough = renderCoreDNS(spaces, { maxBytes: base + line + 1 + 'a.example.com'.length });
    expect(enough.conflicts).toEqual([]);
    expect(enough.bytes).toBeLessThanOrEqual(base + line + 1 + 'a.example.com'.length);
  });

  it('one Space cannot starve another: over its share, only its own newest apps are refused', () => {
    // 55 apps with 100 long custom domains each (issue 16, attack 10), then one small app elsewhere.
    const greedy: DnsApp[] = [];
    for (let i = 0; i < 55; i++) {
      const name = `g${i}`;
      const names = [`${name}.evil.spaces.local`];
      for (let d = 0; d < 100; d++)
        names.push(`${'x'.repeat(60)}.${'y'.repeat(60)}.d${d}.${name}.evil.example`);
      greedy.push(app(name, { names, created: `2025-01-01T00:00:${String(i).padStart(2, '0')}Z` }, 'evil'));
    }
    const victim = app('billing', { created: '2026-01-01T00:00:00Z' }, 'acme');
    const r = renderCoreDNS([space('evil', greedy), space('acme', [victim])]);
    expect(r.bytes).toBeLessThanOrEqual(CONFIGMAP_MAX_BYTES);
    expect(r.published['acme/billing']).toEqual(['billing.acme.spaces.local']);
    const refused = new Set(r.conflicts.filter((c) => c.reason === 'capacity').map((c) => c.app));
    expect(refused.has('evil/g54')).toBe(true);
    expect(refused.has('evil/g0')).toBe(false);
    expect([...refused].every((k) => k?.startsWith('evil/'))).toBe(true);
    expect(r.names['evil/g54']?.refused[0]).toEqual(expect.objectContaining({ code: 'OverBudget' }));
    expect(r.shares['evil']).toBe(r.shares['acme']);
  });

  it('throws DnsTooLargeError when not even the frame fits', () => {
    expect(() => renderCoreDNS([space('alpha', [])], { maxBytes: 100 })).toThrow(DnsTooLargeError);
  });

  it.each([['/etc/coredns/my dir'], ['/etc/{x}']])(
    'refuses a dir that would break the Corefile: %s',
    (dir) => {
      expect(() => renderCoreDNS([], { dir })).toThrow(TypeError);
    },
  );
});
