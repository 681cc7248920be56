// Pure text helpers shared by the commands: kubectl-style tables, YAML/JSON output, ages.
import { stringify } from 'yaml';

/** `-o`: structured output (yaml, json), or the text view with more columns (wide). */
export const OUTPUT_FORMATS = ['yaml', 'json', 'wide'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** A kubectl-style table: upper-case headers, columns padded to the widest cell, 3 spaces apart. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[], indent = ''): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    indent +
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd();
  return all.map(line).join('\n') + '\n';
}

/** `Label:   value` lines, the values aligned. */
export function fields(pairs: readonly (readonly [string, string])[], indent = ''): string {
  const width = Math.max(...pairs.map(([k]) => k.length)) + 1;
  return pairs.map(([k, v]) => `${indent}${`${k}:`.padEnd(width)}  ${v}`.trimEnd()).join('\n') + '\n';
}

export function toYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}

export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

/** yaml or json of `value`; undefined for the text formats (the caller renders text). */
export function structured(format: OutputFormat | undefined, value: unknown): string | undefined {
  if (format === 'yaml') return toYaml(value);
  if (format === 'json') return toJson(value);
  return undefined;
}

/** A comma-separated list, or `<none>` like kubectl. */
export function list(items: readonly string[] | undefined): string {
  return items && items.length > 0 ? items.join(', ') : '<none>';
}

/** kubectl's short ages: 45s, 12m, 3h, 5d. `<unknown>` without a time. */
export function age(time: string | undefined, now: Date): string {
  if (!time) return '<unknown>';
  const seconds = Math.max(0, Math.floor((now.getTime() - Date.parse(time)) / 1000));
  if (Number.isNaN(seconds)) return '<unknown>';
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

/** `k=v,k2=v2`, keys sorted. */
export function labelText(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}
