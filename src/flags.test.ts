import { describe, expect, it } from 'vitest';
import { helpText, intFlag, parseFlags } from './flags.ts';

const options = (argv: string[], env = {}) => {
  const r = parseFlags(argv, env);
  if (!('options' in r)) throw new Error(JSON.stringify(r));
  return r.options;
};

describe('parseFlags', () => {
  it('gives the defaults', () => {
    expect(options([], { POD_NAMESPACE: 'ops', POD_NAME: 'op-1' })).toMatchObject({
      namespace: 'ops',
      identity: 'op-1',
      leaderElection: false,
      webhook: { port: 9443, certManager: false },
      healthPort: 8080,
      concurrency: 4,
      resyncMs: 0,
      dns: true,
      settings: { allowedDnsSuffixes: [], clusterCidrs: [], podSecurity: 'baseline' },
    });
  });

  it('reads every flag', () => {
    const o = options([
      '--namespace=x',
      '--leader-elect',
      '--webhook-port=10443',
      '--webhook-host=127.0.0.1',
      '--webhook-url=https://127.0.0.1:10443/validate',
      '--health-port=0',
      '--concurrency=8',
      '--resync-seconds=30',
      '--no-dns',
      '--allowed-dns-suffixes=a.example, b.example',
      '--cluster-cidrs=10.96.0.0/12',
      '--pod-security=restricted',
    ]);
    expect(o).toMatchObject({
      namespace: 'x',
      leaderElection: true,
      webhook: { port: 10443, host: '127.0.0.1', url: 'https://127.0.0.1:10443/validate' },
      healthPort: 0,
      concurrency: 8,
      resyncMs: 30_000,
      dns: false,
      settings: {
        allowedDnsSuffixes: ['a.example', 'b.example'],
        clusterCidrs: ['10.96.0.0/12'],
        podSecurity: 'restricted',
      },
    });
    expect(options(['--no-webhook']).webhook).toBe(false);
  });

  it.each([
    ['--concurrency=abc', '--concurrency: "abc" is not a whole number from 1 to 1000'],
    ['--concurrency=0', '--concurrency: "0" is not a whole number from 1 to 1000'],
    ['--webhook-port=70000', '--webhook-port: "70000" is not a whole number from 0 to 65535'],
    ['--health-port=8080.5', '--health-port: "8080.5" is not a whole number from 0 to 65535'],
    ['--resync-seconds=-1', '--resync-seconds: "-1" is not a whole number from 0 to 31536000'],
    ['--pod-security=privileged', '--pod-security: "privileged" is not baseline or restricted'],
  ])('refuses %s, naming the flag', (arg, error) => {
    expect(parseFlags([arg])).toEqual({ error });
  });

  it('refuses an unknown flag', () => {
    expect(parseFlags(['--webhook-hots=x'])).toMatchObject({
      error: expect.stringContaining('--webhook-hots'),
    });
  });

  it('reads --tls-issuer, and names it when it is wrong', () => {
    expect(options(['--tls-issuer=cert-manager:ClusterIssuer/ca'])).toMatchObject({
      tls: { issuer: { kind: 'ClusterIssuer', name: 'ca' } },
    });
    const r = parseFlags(['--tls-issuer=letsencrypt']);
    expect('error' in r ? r.error : '').toMatch(/tls-issuer/);
  });

  it('--help lists every flag, and every flag it lists is one the parser takes', () => {
    expect(parseFlags(['-h'])).toEqual({ help: helpText() });
    const listed = [...helpText().matchAll(/^ {2}--([a-z-]+)/gm)].map((m) => m[1]);
    expect(listed).toEqual([
      'kubeconfig',
      'namespace',
      'leader-elect',
      'webhook-port',
      'webhook-host',
      'webhook-url',
      'no-webhook',
      'cert-manager',
      'health-port',
      'concurrency',
      'resync-seconds',
      'shutdown-delay-seconds',
      'no-dns',
      'allowed-dns-suffixes',
      'cluster-cidrs',
      'pod-security',
      'tls-issuer',
      'help',
    ]);
    for (const flag of listed) {
      const r = parseFlags([`--${flag}`]);
      expect('error' in r ? r.error : '').not.toMatch(/Unknown option/);
    }
  });
});

describe('intFlag', () => {
  it('accepts whole numbers in range', () => {
    expect(intFlag('n', '42', 0, 100)).toBe(42);
    expect(intFlag('n', '', 0, 100)).toMatch(/^--n: "" is not/);
    expect(intFlag('n', '1e3', 0, 10_000)).toMatch(/^--n: "1e3" is not/);
  });
});

describe('--shutdown-delay-seconds (how long SIGTERM keeps the webhook serving)', () => {
  const delay = (argv: string[]): number | string => {
    const r = parseFlags(argv);
    return 'shutdownDelayMs' in r ? r.shutdownDelayMs : 'error' in r ? r.error : 'help';
  };
  it('is 5 s by default, any whole number of seconds up to 300, 0 for none', () => {
    expect(delay([])).toBe(5000);
    expect(delay(['--shutdown-delay-seconds=0'])).toBe(0);
    expect(delay(['--shutdown-delay-seconds=20'])).toBe(20_000);
  });
  it('refuses anything else, naming the flag', () => {
    expect(delay(['--shutdown-delay-seconds=-1'])).toMatch(/--shutdown-delay-seconds/);
    expect(delay(['--shutdown-delay-seconds=301'])).toMatch(/--shutdown-delay-seconds/);
    expect(delay(['--shutdown-delay-seconds=soon'])).toMatch(/--shutdown-delay-seconds/);
  });
});
