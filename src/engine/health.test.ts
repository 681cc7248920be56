import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { healthResponse } from './health.ts';

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
});
