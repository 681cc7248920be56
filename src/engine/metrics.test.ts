import { describe, expect, it } from 'vitest';
import { HotCounter, enableDefaultMetrics, metricValue, registry } from './metrics.ts';

describe('default process metrics', () => {
  it('count the time the event loop ran code, read when scraped', async () => {
    enableDefaultMetrics();
    enableDefaultMetrics(); // idempotent: one registration, no "already registered" throw
    const before = await metricValue('spaces_eventloop_busy_seconds_total');
    // 60 ms without yielding: the loop is busy all of it, whatever else the machine runs.
    const start = performance.now();
    while (performance.now() - start < 60);
    const after = await metricValue('spaces_eventloop_busy_seconds_total');
    expect(after - before).toBeGreaterThanOrEqual(0.05);
    const text = await registry.metrics();
    expect(text).toMatch(/^spaces_eventloop_busy_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_max_seconds /m);
    expect(text).toMatch(/^process_cpu_seconds_total /m);
  });
});

describe('HotCounter', () => {
  it('reports every increment per label set when scraped, again after more, and none after a reset', async () => {
    const c = new HotCounter({ name: 'test_hot_total', help: 'test', labelNames: ['verb', 'resource'] });
    for (let i = 0; i < 3; i++) c.inc({ verb: 'get', resource: 'apps' });
    c.inc({ resource: 'apps', verb: 'patch' });
    c.inc({ verb: 'get', resource: 'services' });
    expect(await metricValue('test_hot_total', { verb: 'get', resource: 'apps' })).toBe(3);
    expect(await metricValue('test_hot_total', { verb: 'patch', resource: 'apps' })).toBe(1);
    c.inc({ verb: 'get', resource: 'apps' });
    expect(await metricValue('test_hot_total', { verb: 'get', resource: 'apps' })).toBe(4);
    expect(await metricValue('test_hot_total', { verb: 'get', resource: 'services' })).toBe(1);
    expect(await registry.metrics()).toMatch(/^test_hot_total\{verb="get",resource="apps"\} 4$/m);
    c.inc({ verb: 'get', resource: 'apps' });
    c.counter.reset();
    expect(await metricValue('test_hot_total', { verb: 'get', resource: 'apps' })).toBe(0);
    registry.removeSingleMetric('test_hot_total');
  });
});
