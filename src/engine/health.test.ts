import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FakeClock, sleep } from './clock.ts';
import { healthResponse } from './health.ts';
import { Manager } from './manager.ts';

const registry = new Registry();
new Counter({ name: 'test_things_total', help: 'things', registers: [registry] }).inc(3);

describe('healthResponse', () => {
  it('answers /healthz with 200 whatever readiness says', async () => {
    expect(await healthResponse('/healthz', () => false, registry)).toMatchObject({ status: 200 });
  });

  it('answers /readyz from the readiness function', async () => {
    expect((await healthResponse('/readyz', () => true, registry)).status).toBe(200);
    expect((await healthResponse('/readyz', () => Promise.resolve(false), registry)).status).toBe(503);
    expect((await healthResponse('/readyz?verbose', () => true, registry)).status).toBe(200);
  });

  it('treats a readiness function that throws as not ready', async () => {
    const r = await healthResponse('/readyz', () => Promise.reject(new Error('x')), registry);
    expect(r.status).toBe(503);
  });

  it('serves the registry in the Prometheus text format on /metrics', async () => {
    const r = await healthResponse('/metrics', () => true, registry);
    expect(r.status).toBe(200);
    expect(r.contentType).toContain('text/plain');
    expect(r.body).toContain('test_things_total 3');
  });

  it('answers 404 elsewhere', async () => {
    expect((await healthResponse('/nope', () => true, registry)).status).toBe(404);
  });

  it('answers /readyz?verbose with one line per check, as kube-apiserver does, and the same status', async () => {
    const checks = () => [
      { name: 'informers', ok: true },
      { name: 'webhook-certs', ok: false, reason: 'secret spaces/webhook-tls has no tls.crt' },
    ];
    const r = await healthResponse('/readyz?verbose', checks, registry);
    expect(r.status).toBe(503);
    expect(r.body).toBe(
      '[+]informers ok\n[-]webhook-certs failed: secret spaces/webhook-tls has no tls.crt\nreadyz check failed\n',
    );
    expect(await healthResponse('/readyz', checks, registry)).toMatchObject({
      status: 503,
      body: 'not ready\n',
    });
    const passing = await healthResponse(
      '/readyz?verbose=1',
      () => [{ name: 'informers', ok: true }],
      registry,
    );
    expect(passing).toMatchObject({ status: 200, body: '[+]informers ok\nreadyz check passed\n' });
  });

  it('names a plain readiness answer `ready`, and a throw by its message', async () => {
    expect((await healthResponse('/readyz?verbose', () => true, registry)).body).toBe(
      '[+]ready ok\nreadyz check passed\n',
    );
    const thrown = await healthResponse('/readyz?verbose', () => Promise.reject(new Error('x')), registry);
    expect(thrown).toMatchObject({ status: 503, body: '[-]ready failed: x\nreadyz check failed\n' });
  });
});

describe("/readyz?verbose from the manager's components, on the injected clock", () => {
  it('follows each component: not started, ready, failed with its reason, stopping', async () => {
    const clock = new FakeClock();
    let certsExpireAt = clock.now() + 60_000;
    const m = new Manager({ clock });
    m.add({
      name: 'informers',
      needLeaderElection: false,
      start: () => sleep(clock, 5_000), // the caches sync in five seconds
      stop: () => undefined,
    });
    m.add({
      name: 'webhook-certs',
      needLeaderElection: false,
      start: () => undefined,
      stop: () => undefined,
      ready: () => {
        if (clock.now() >= certsExpireAt) throw new Error('serving certificate expired');
        return true;
      },
    });
    m.add({ name: 'space', needLeaderElection: true, start: () => undefined, stop: () => undefined });
    const readyz = () => healthResponse('/readyz?verbose', () => m.readiness(), registry);

    const started = m.start();
    expect(await readyz()).toMatchObject({
      status: 503,
      body: '[-]informers failed: not started\n[-]webhook-certs failed: not started\nreadyz check failed\n',
    });
    await clock.advanceAsync(4_999);
    expect((await readyz()).status).toBe(503);
    await clock.advanceAsync(1);
    await started;
    expect(await readyz()).toMatchObject({
      status: 200,
      body: '[+]informers ok\n[+]webhook-certs ok\nreadyz check passed\n', // leader-only `space` is not a check
    });
    await clock.advanceAsync(55_000);
    expect(await readyz()).toMatchObject({
      status: 503,
      body: '[+]informers ok\n[-]webhook-certs failed: serving certificate expired\nreadyz check failed\n',
    });
    expect((await healthResponse('/readyz', () => m.readiness(), registry)).status).toBe(503);
    certsExpireAt = clock.now() + 60_000; // renewed
    expect((await readyz()).status).toBe(200);
    await m.stop();
    expect((await readyz()).body).toBe(
      '[-]shutdown failed: the manager is stopping\n[-]informers failed: not started\n' +
        '[-]webhook-certs failed: not started\nreadyz check failed\n',
    );
  });
});
