// The release pipeline cannot run here (it needs the forge, a registry and its runners): what can
// be checked is checked. The workflow names only files, scripts and npm scripts this repository
// has; it builds the image from the Dockerfile for two architectures with provenance and an SBOM,
// packages and pushes the chart as OCI; the krew manifest it writes is a valid krew Plugin whose
// checksums are those of the archives; the chart version step pins the tag and the image digest.
// Every action a workflow uses is pinned by a full commit SHA. The Apache-2.0 LICENSE is in the
// repository, the packaged chart and every CLI archive, and the krew manifest installs it.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../../tools/harness/binaries.ts';
import { setChartVersion } from '../../tools/release/chart-version.ts';
import { archivesIn, renderKrew } from '../../tools/release/krew.ts';
import { tool } from '../../tools/release/bin.ts';
import { packageCli } from '../../tools/release/package-cli.ts';

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Workflow {
  on: { push: { tags: string[] } };
  jobs: Record<string, { needs?: string | string[]; steps: Step[] }>;
}

const workflowDir = path.join(repoRoot, '.github/workflows');
const workflowFiles = readdirSync(workflowDir).filter((f) => /\.ya?ml$/.test(f));
const workflowText = readFileSync(path.join(workflowDir, 'release.yml'), 'utf8');
const workflow = parse(workflowText) as Workflow;
const steps = Object.values(workflow.jobs).flatMap((j) => j.steps);
const runs = steps.flatMap((s) => (s.run ? [s.run] : []));
const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  license: string;
};
const scripts = pkg.scripts;
const license = readFileSync(path.join(repoRoot, 'LICENSE'), 'utf8');

describe('the licence: Apache-2.0, in the repository and in everything released', () => {
  let helm: string;
  beforeAll(async () => {
    helm = await tool('helm');
  }, 1_800_000);

  it('LICENSE is the Apache License 2.0, as package.json and the chart declare', () => {
    expect(license).toMatch(/^\s+Apache License\n\s+Version 2\.0, January 2004\n/);
    expect(license).toContain('END OF TERMS AND CONDITIONS');
    expect(pkg.license).toBe('Apache-2.0');
    const chart = parse(readFileSync(path.join(repoRoot, 'charts/spaces-operator/Chart.yaml'), 'utf8')) as {
      annotations: Record<string, string>;
    };
    expect(chart.annotations['artifacthub.io/license']).toBe('Apache-2.0');
  });

  it('the packaged chart holds LICENSE (what Artifact Hub shows)', () => {
    const out = mkdtempSync(path.join(tmpdir(), 'chart-license-'));
    execFileSync(helm, ['package', path.join(repoRoot, 'charts/spaces-operator'), '--destination', out]);
    const tgz = path.join(
      out,
      readdirSync(out).find((f) => f.endsWith('.tgz'))!,
    );
    expect(execFileSync('tar', ['-xOzf', tgz, 'spaces-operator/LICENSE'], { encoding: 'utf8' })).toBe(
      license,
    );
  }, 120_000);
});

describe('.github/workflows/release.yml', () => {
  it.each(workflowFiles)(
    '%s: every action is pinned by a full commit SHA, its release tag in a comment',
    (file) => {
      const text = readFileSync(path.join(workflowDir, file), 'utf8');
      const uses = [...text.matchAll(/^\s*(?:-\s+)?uses:\s*(.*)$/gm)].map((m) => m[1]!.trim());
      expect(uses.length, 'steps that use an action').toBeGreaterThan(0);
      const unpinned = uses.filter((u) => !/^[\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/.test(u));
      expect(unpinned, 'uses: owner/repo@<40 hex> # vX.Y.Z').toEqual([]);
      // One action, one pin: the same action at two SHAs in one file is a half-done update.
      const pins = new Map<string, Set<string>>();
      for (const u of uses) {
        const [action, ref] = u.split('@') as [string, string];
        pins.set(action, (pins.get(action) ?? new Set()).add(ref));
      }
      for (const [action, refs] of pins) expect([...refs], action).toHaveLength(1);
    },
  );

  it('runs on version tags', () => {
    expect(workflow.on.push.tags).toEqual(['v[0-9]+.[0-9]+.[0-9]+*']);
  });

  it('every repository path its commands name exists', () => {
    const paths = new Set(
      runs.flatMap((r) => r.match(/\b(?:tools|charts|deploy|bin|src)\/[\w./-]*[\w-]/g) ?? []),
    );
    expect(paths.size).toBeGreaterThanOrEqual(5);
    for (const p of paths) expect(existsSync(path.join(repoRoot, p)), p).toBe(true);
    for (const s of steps.filter((x) => x.with?.['file'])) {
      expect(existsSync(path.join(repoRoot, String(s.with!['file']))), String(s.with!['file'])).toBe(true);
    }
  });

  it('every npm script it runs is in package.json', () => {
    const used = runs.flatMap((r) => [...r.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]!));
    expect(used).toContain('build:sea');
    // `build:sea` (tools/build-sea.sh) comes with branch `client`; until it lands it is the one
    // script allowed to be missing, and it is reported. Once package.json has it, nothing is.
    const pending = 'build:sea' in scripts ? [] : ['build:sea'];
    if (pending.length > 0)
      console.warn(`release.yml runs npm scripts not in package.json yet: ${pending.join(', ')}`);
    expect(used.filter((s) => !(s in scripts))).toEqual(pending);
  });

  it('builds the image from the Dockerfile for amd64 and arm64 with provenance and an SBOM, and pushes it', () => {
    const build = steps.find((s) => s.uses?.startsWith('docker/build-push-action'))!;
    expect(build.with).toMatchObject({
      file: 'Dockerfile',
      platforms: 'linux/amd64,linux/arm64',
      push: true,
      provenance: 'mode=max',
      sbom: true,
    });
    expect(steps.some((s) => s.uses?.startsWith('actions/attest-build-provenance'))).toBe(true);
  });

  it('lints, packages and pushes the chart as OCI, with helm built from its Go module', () => {
    const chartRuns = workflow.jobs['chart']!.steps.flatMap((s) => (s.run ? [s.run] : [])).join('\n');
    expect(chartRuns).toContain('tools/build-binaries.sh helm');
    expect(chartRuns).toMatch(/\$HELM lint --strict charts\/spaces-operator/);
    expect(chartRuns).toMatch(/\$HELM package charts\/spaces-operator/);
    expect(chartRuns).toMatch(/\$HELM push .* "\$CHARTS"/);
    expect(workflowText).toMatch(/CHARTS: oci:\/\//);
    expect(workflow.jobs['chart']!.needs).toBe('image');
  });

  it('attaches the CLI archives, the chart, the krew manifest and checksums to the release', () => {
    const release = workflow.jobs['release']!.steps.flatMap((s) => (s.run ? [s.run] : [])).join('\n');
    expect(release).toContain('node tools/release/krew.ts');
    for (const a of [
      '.release/kubectl-spaces-*',
      '.release/spaces-operator-*.tgz',
      '.release/spaces.yaml',
      'SHA256SUMS',
    ])
      expect(release).toContain(a);
  });
});

describe('the krew manifest', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'krew-'));
  const platforms = ['linux-amd64.tar.gz', 'linux-arm64.tar.gz', 'darwin-arm64.tar.gz', 'windows-amd64.zip'];
  for (const p of platforms) writeFileSync(path.join(dir, `kubectl-spaces-${p}`), `archive ${p}`);
  writeFileSync(path.join(dir, 'spaces-operator-1.2.3.tgz'), 'not a CLI archive');

  it('lists every archive with its checksum, download URL and executable', () => {
    const manifest = parse(
      renderKrew({ version: 'v1.2.3', repo: 'acme/spaces-operator', archives: archivesIn(dir) }),
    ) as {
      apiVersion: string;
      kind: string;
      metadata: { name: string };
      spec: {
        version: string;
        homepage: string;
        shortDescription: string;
        description: string;
        platforms: Array<{
          selector: { matchLabels: Record<string, string> };
          uri: string;
          sha256: string;
          files: Array<{ from: string; to: string }>;
          bin: string;
        }>;
      };
    };
    expect(manifest.apiVersion).toBe('krew.googlecontainertools.github.com/v1alpha2');
    expect(manifest.kind).toBe('Plugin');
    expect(manifest.metadata.name).toBe('spaces');
    expect(manifest.spec.version).toBe('v1.2.3');
    expect(manifest.spec.homepage).toBe('https://github.com/acme/spaces-operator');
    expect(manifest.spec.description).toContain('oci://ghcr.io/acme/charts/spaces-operator');
    expect(manifest.spec.platforms).toHaveLength(4);
    for (const p of manifest.spec.platforms) {
      const { os, arch } = p.selector.matchLabels;
      const file = platforms.find((f) => f.startsWith(`${os}-${arch}.`))!;
      expect(p.uri).toBe(
        `https://github.com/acme/spaces-operator/releases/download/v1.2.3/kubectl-spaces-${file}`,
      );
      expect(p.sha256).toBe(createHash('sha256').update(`archive ${file}`).digest('hex'));
      expect(p.bin).toBe(os === 'windows' ? 'kubectl-spaces.exe' : 'kubectl-spaces');
      // krew installs only the files listed (the executable and the licence, as krew-index asks).
      expect(p.files).toEqual([
        { from: p.bin, to: '.' },
        { from: 'LICENSE', to: '.' },
      ]);
    }
  });

  it.each([
    [{ version: '1.2.3', repo: 'a/b' }, '--version: "1.2.3"'],
    [{ version: 'v1.2.3', repo: 'nope' }, '--repo: "nope"'],
  ])('refuses %j naming the flag', (o, message) => {
    expect(() => renderKrew({ ...o, archives: archivesIn(dir) })).toThrow(message);
  });

  it('an archive package-cli writes holds the executable under the name the manifest gives', () => {
    const out = mkdtempSync(path.join(tmpdir(), 'cli-'));
    const exe = path.join(out, 'fake-sea');
    writeFileSync(exe, '#!/bin/sh\necho kubectl-spaces\n', { mode: 0o755 });
    const archive = packageCli('linux', 'amd64', out, exe);
    expect(path.basename(archive)).toBe('kubectl-spaces-linux-amd64.tar.gz');
    expect(
      execFileSync('tar', ['-tzf', archive], { encoding: 'utf8' }).split('\n').filter(Boolean).sort(),
    ).toEqual(['LICENSE', 'README.md', 'kubectl-spaces']);
    expect(execFileSync('tar', ['-xOzf', archive, 'LICENSE'], { encoding: 'utf8' })).toBe(license);
    expect(archivesIn(out).map((a) => `${a.os}/${a.arch}`)).toEqual(['linux/amd64']);
  });
});

describe('tools/release/chart-version.ts', () => {
  const files = {
    chart: readFileSync(path.join(repoRoot, 'charts/spaces-operator/Chart.yaml'), 'utf8'),
    values: readFileSync(path.join(repoRoot, 'charts/spaces-operator/values.yaml'), 'utf8'),
  };
  const digest = 'sha256:' + 'b'.repeat(64);

  it("sets version, appVersion and the image digest in the chart's own files", () => {
    const next = setChartVersion(files, '1.2.3', digest);
    const chart = parse(next.chart) as { version: string; appVersion: string };
    expect([chart.version, chart.appVersion]).toEqual(['1.2.3', '1.2.3']);
    expect((parse(next.values) as { image: { digest: string } }).image.digest).toBe(digest);
  });

  it('refuses a version or digest that is not one', () => {
    expect(() => setChartVersion(files, 'v1.2.3', digest)).toThrow('version: "v1.2.3"');
    expect(() => setChartVersion(files, '1.2.3', 'latest')).toThrow('digest: "latest"');
  });
});
