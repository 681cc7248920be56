// Release step: sets charts/spaces-operator/Chart.yaml version and appVersion to the tag's version
// and pins the image by the digest the release just pushed (values.yaml image.digest), so the
// published chart runs exactly the image built from the same commit.
// Usage: node tools/release/chart-version.ts 1.2.3 sha256:...
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const chart = path.resolve(import.meta.dirname, '../../charts/spaces-operator');

export function setChartVersion(
  files: { chart: string; values: string },
  version: string,
  digest: string,
): {
  chart: string;
  values: string;
} {
  if (!/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(version))
    throw new Error(`version: "${version}" is not semver X.Y.Z`);
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`digest: "${digest}" is not sha256:<64 hex>`);
  const replace = (text: string, re: RegExp, line: string, what: string): string => {
    if (!re.test(text)) throw new Error(`${what}: no line matching ${re}`);
    return text.replace(re, line);
  };
  return {
    chart: replace(
      replace(files.chart, /^version: .*$/m, `version: ${version}`, 'Chart.yaml version'),
      /^appVersion: .*$/m,
      `appVersion: ${version}`,
      'Chart.yaml appVersion',
    ),
    values: replace(files.values, /^ {2}digest: .*$/m, `  digest: '${digest}'`, 'values.yaml image.digest'),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [version = '', digest = ''] = process.argv.slice(2);
  const files = {
    chart: readFileSync(path.join(chart, 'Chart.yaml'), 'utf8'),
    values: readFileSync(path.join(chart, 'values.yaml'), 'utf8'),
  };
  const next = setChartVersion(files, version, digest);
  writeFileSync(path.join(chart, 'Chart.yaml'), next.chart);
  writeFileSync(path.join(chart, 'values.yaml'), next.values);
  console.log(`chart ${version}, image digest ${digest}`);
}
