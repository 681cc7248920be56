// Writes the krew plugin manifest of a release from tools/release/krew.yaml.tmpl and the CLI
// archives the release workflow built (kubectl-spaces-<os>-<arch>.tar.gz, .zip on Windows):
//   node tools/release/krew.ts --version v1.2.3 --repo owner/name --dir .release > spaces.yaml
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

export interface Archive {
  os: string;
  arch: string;
  file: string;
  sha256: string;
}

export const ARCHIVE = /^kubectl-spaces-(linux|darwin|windows)-(amd64|arm64)\.(tar\.gz|zip)$/;
const template = path.join(import.meta.dirname, 'krew.yaml.tmpl');

/** The files beside the executable in every archive; krew installs LICENSE with the plugin. */
export const ARCHIVE_DOCS = ['LICENSE', 'README.md'];

/** The executable inside an archive of that OS (tools/release/package-cli.ts writes it so). */
export const executableName = (os: string): string =>
  os === 'windows' ? 'kubectl-spaces.exe' : 'kubectl-spaces';

/** The CLI archives in `dir`, with their checksums. */
export function archivesIn(dir: string): Archive[] {
  return readdirSync(dir)
    .flatMap((file) => {
      const m = ARCHIVE.exec(file);
      if (!m) return [];
      const sha256 = createHash('sha256')
        .update(readFileSync(path.join(dir, file)))
        .digest('hex');
      return [{ os: m[1]!, arch: m[2]!, file, sha256 }];
    })
    .sort((a, b) => a.file.localeCompare(b.file));
}

export function renderKrew(o: { version: string; repo: string; archives: Archive[] }): string {
  if (!/^v\d+\.\d+\.\d+/.test(o.version))
    throw new Error(`--version: "${o.version}" is not a tag like v1.2.3`);
  if (!/^[\w.-]+\/[\w.-]+$/.test(o.repo)) throw new Error(`--repo: "${o.repo}" is not owner/name`);
  if (o.archives.length === 0) throw new Error('--dir: no kubectl-spaces-<os>-<arch> archives there');
  const platforms = o.archives
    .map((a) =>
      [
        `    - selector:`,
        `        matchLabels: { os: ${a.os}, arch: ${a.arch} }`,
        `      uri: https://github.com/${o.repo}/releases/download/${o.version}/${a.file}`,
        `      sha256: ${a.sha256}`,
        `      files:`,
        `        - { from: ${executableName(a.os)}, to: . }`,
        `        - { from: LICENSE, to: . }`,
        `      bin: ${executableName(a.os)}`,
      ].join('\n'),
    )
    .join('\n');
  const values: Record<string, string> = {
    version: o.version,
    repo: o.repo,
    owner: o.repo.split('/')[0]!.toLowerCase(),
    platforms,
  };
  return readFileSync(template, 'utf8').replace(/\{\{(\w+)\}\}/g, (_, k: string) => {
    const v = values[k];
    if (v === undefined) throw new Error(`krew.yaml.tmpl: unknown placeholder {{${k}}}`);
    return v;
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: { version: { type: 'string' }, repo: { type: 'string' }, dir: { type: 'string' } },
  });
  const dir = values.dir ?? '.release';
  process.stdout.write(
    renderKrew({ version: values.version ?? '', repo: values.repo ?? '', archives: archivesIn(dir) }),
  );
}
