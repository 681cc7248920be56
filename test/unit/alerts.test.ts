// The alerts of deploy/monitoring/prometheusrule.yaml, judged by Prometheus's own promtool (built
// from the github.com/prometheus/prometheus Go module, cmd/promtool): the rules load
// (`promtool check rules`), and `promtool test rules deploy/monitoring/alerts.test.yaml` passes,
// with for every alert a case where it fires. The dashboard's and alerts' expressions name only
// metrics (what test/integration/metrics.test.ts then finds on a running operator's /metrics).
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { parse, stringify } from 'yaml';
import { tool } from '../../tools/release/bin.ts';
import {
  alertExpressions,
  dashboardExpressions,
  metricNames,
  monitoringDir,
  ruleGroups,
} from '../../tools/release/monitoring.ts';

// helm and promtool are separate processes: seconds each on a busy machine.
vi.setConfig({ testTimeout: 120_000 });
const run = promisify(execFile);
let promtool: string;
let dir: string;

beforeAll(async () => {
  promtool = await tool('promtool');
  dir = mkdtempSync(path.join(tmpdir(), 'alerts-'));
  writeFileSync(path.join(dir, 'full.yaml'), stringify({ groups: ruleGroups() }));
  // The cases judge when alerts fire and with which labels; the annotations are for people.
  const groups = ruleGroups().map((g) => ({
    ...g,
    rules: g.rules.map(({ annotations: _, ...rule }) => rule),
  }));
  writeFileSync(path.join(dir, 'rules.yaml'), stringify({ groups }));
  copyFileSync(path.join(monitoringDir, 'alerts.test.yaml'), path.join(dir, 'alerts.test.yaml'));
}, 3_600_000);

describe('promtool', () => {
  it('check rules: the PrometheusRule groups load', async () => {
    const { stdout } = await run(promtool, ['check', 'rules', path.join(dir, 'full.yaml')]);
    expect(stdout).toMatch(new RegExp(`SUCCESS: ${alertExpressions().length} rules found`));
  });

  it('test rules: every case of alerts.test.yaml passes', async () => {
    const r = await run(promtool, ['test', 'rules', 'alerts.test.yaml'], { cwd: dir }).catch(
      (err: { stdout: string; stderr: string; code: number }) => err,
    );
    expect('code' in r ? `${r.stdout}\n${r.stderr}` : '', 'promtool test rules output').toBe('');
    expect(r.stdout).toContain('SUCCESS');
  });

  it('a broken expectation fails (the cases are really checked)', async () => {
    const cases = readFileSync(path.join(monitoringDir, 'alerts.test.yaml'), 'utf8').replace(
      'exp_labels: { severity: critical, namespace: acme, app: billing }',
      'exp_labels: { severity: critical, namespace: acme, app: www }',
    );
    writeFileSync(path.join(dir, 'broken.test.yaml'), cases);
    const r = await run(promtool, ['test', 'rules', 'broken.test.yaml'], { cwd: dir }).then(
      () => 'passed',
      (err: { stdout: string; stderr: string }) => err.stdout + err.stderr,
    );
    expect(r).toContain('SpacesInternalAppExposed');
    expect(r).toContain('FAILED');
  });
});

describe('alerts.test.yaml', () => {
  interface Cases {
    tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
  }
  const cases = parse(readFileSync(path.join(monitoringDir, 'alerts.test.yaml'), 'utf8')) as Cases;
  const checks = cases.tests.flatMap((t) => t.alert_rule_test ?? []);

  it.each(alertExpressions().map((a) => a.alert))('has a case where %s fires', (alert) => {
    expect(checks.some((c) => c.alertname === alert && c.exp_alerts.length > 0)).toBe(true);
  });

  it('names no alert that prometheusrule.yaml lacks', () => {
    const alerts = new Set(alertExpressions().map((a) => a.alert));
    expect(checks.map((c) => c.alertname).filter((a) => !alerts.has(a))).toEqual([]);
  });
});

describe('metric names in the expressions', () => {
  it.each([
    [
      'sum by (controller) (rate(spaces_reconcile_errors_total[5m])) > 0.1',
      ['spaces_reconcile_errors_total'],
    ],
    [
      'histogram_quantile(0.99, sum by (le) (rate(spaces_webhook_admission_duration_seconds_bucket{kind="x"}[$__rate_interval])))',
      ['spaces_webhook_admission_duration_seconds_bucket'],
    ],
    ['absent(up{job="spaces-operator-metrics"} == 1)', ['up']],
    [
      'min by (namespace, name) (spaces_certificate_expiry_seconds) - time() < 21 * 86400',
      ['spaces_certificate_expiry_seconds'],
    ],
    ['sum(a_total) or vector(0) and on (pod) b', ['a_total', 'b']],
  ])('%s reads %j', (expr, names) => {
    expect(metricNames(expr)).toEqual(names);
  });

  it('every alert and panel reads at least one metric', () => {
    for (const { alert, expr } of alertExpressions()) expect(metricNames(expr), alert).not.toEqual([]);
    for (const { panel, expr } of dashboardExpressions()) expect(metricNames(expr), panel).not.toEqual([]);
  });
});
