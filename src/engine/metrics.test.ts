import { describe, expect, it } from 'vitest';
import { enableDefaultMetrics, metricValue, registry } from './metrics.ts';

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
