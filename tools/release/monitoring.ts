// What the dashboard and the alerts of deploy/monitoring read: their PromQL expressions and the
// metric names in them, so tests can check every name against the operator's /metrics.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

const repoRoot = path.resolve(import.meta.dirname, '../..');
export const monitoringDir = path.join(repoRoot, 'deploy/monitoring');

/** Series Prometheus writes itself for every target: read by alerts, exported by nobody. */
export const PROMETHEUS_SERIES = new Set(['up']);

// PromQL words that are not metric names.
const FUNCTIONS = new Set([
  'abs',
  'absent',
  'absent_over_time',
  'avg',
  'avg_over_time',
  'bottomk',
  'ceil',
  'changes',
  'clamp',
  'clamp_max',
  'clamp_min',
  'count',
  'count_over_time',
  'delta',
  'deriv',
  'floor',
  'group',
  'histogram_quantile',
  'idelta',
  'increase',
  'irate',
  'label_replace',
  'max',
  'max_over_time',
  'min',
  'min_over_time',
  'quantile',
  'rate',
  'resets',
  'round',
  'scalar',
  'sort',
  'sort_desc',
  'stddev',
  'sum',
  'sum_over_time',
  'time',
  'timestamp',
  'topk',
  'vector',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/** Metric names an expression reads (label matchers, groupings, ranges, strings and numbers removed). */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\$\w+/g, '')
    .replace(/\b\d+(?:\.\d+)?(?:e\d+)?\b/g, '');
  const names = new Set<string>();
  for (const [word] of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    if (!FUNCTIONS.has(word.toLowerCase())) names.add(word);
  }
  return [...names];
}

interface RuleFile {
  spec: {
    groups: Array<{
      name: string;
      rules: Array<{ alert?: string; record?: string; expr: string; annotations?: Record<string, string> }>;
    }>;
  };
}

/** The PrometheusRule's groups, as a Prometheus rule file takes them. */
export function ruleGroups(): RuleFile['spec']['groups'] {
  return (parse(readFileSync(path.join(monitoringDir, 'prometheusrule.yaml'), 'utf8')) as RuleFile).spec
    .groups;
}

/** Every alert's name and expression. */
export function alertExpressions(): Array<{ alert: string; expr: string }> {
  return ruleGroups().flatMap((g) =>
    g.rules.flatMap((r) => (r.alert ? [{ alert: r.alert, expr: r.expr }] : [])),
  );
}

/** Every panel target's expression of the Grafana dashboard, rows included. */
export function dashboardExpressions(): Array<{ panel: string; expr: string }> {
  interface Panel {
    title: string;
    targets?: Array<{ expr?: string }>;
    panels?: Panel[];
  }
  const d = JSON.parse(readFileSync(path.join(monitoringDir, 'dashboard.json'), 'utf8')) as {
    panels: Panel[];
  };
  const walk = (ps: Panel[]): Array<{ panel: string; expr: string }> =>
    ps.flatMap((p) => [
      ...(p.targets ?? []).flatMap((t) => (t.expr ? [{ panel: p.title, expr: t.expr }] : [])),
      ...walk(p.panels ?? []),
    ]);
  return walk(d.panels);
}

/** Metric names a /metrics text exposes: every `# TYPE` family and the series a histogram or summary adds. */
export function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name! + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(name! + s);
  }
  return names;
}
