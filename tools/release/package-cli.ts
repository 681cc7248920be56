// Puts the CLI's single executable (built by `npm run build:sea`, tools/build-sea.sh) into the
// archive krew installs: kubectl-spaces-<os>-<arch>.tar.gz (.zip on Windows) holding
// kubectl-spaces[.exe], LICENSE (krew installs it beside the executable) and README.md.
// Usage: node tools/release/package-cli.ts OS ARCH OUTDIR
// The executable is read from $SEA_BINARY, default dist/sea/kubectl-spaces[.exe].
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ARCHIVE_DOCS, executableName } from './krew.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');

export function packageCli(os: string, arch: string, outDir: string, binary?: string): string {
  const exe = executableName(os);
  const from = binary ?? path.join(repoRoot, 'dist/sea', exe);
  if (!existsSync(from))
    throw new Error(`no executable at ${from}: run npm run build:sea first (or set SEA_BINARY)`);
  const stage = mkdtempSync(path.join(tmpdir(), 'kubectl-spaces-'));
  copyFileSync(from, path.join(stage, exe));
  for (const f of ARCHIVE_DOCS) copyFileSync(path.join(repoRoot, f), path.join(stage, f));
  mkdirSync(outDir, { recursive: true });
  const archive = path.resolve(outDir, `kubectl-spaces-${os}-${arch}.${os === 'windows' ? 'zip' : 'tar.gz'}`);
  // bsdtar (macOS, Windows) writes zip with -a; GNU tar (Linux) writes the .tar.gz.
  const args = os === 'windows' ? ['-a', '-cf', archive] : ['-czf', archive];
  execFileSync('tar', [...args, '-C', stage, exe, ...ARCHIVE_DOCS], { stdio: 'inherit' });
  return archive;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [os, arch, outDir] = process.argv.slice(2);
  if (!os || !arch || !outDir) throw new Error('usage: node tools/release/package-cli.ts OS ARCH OUTDIR');
  console.log(packageCli(os, arch, outDir, process.env['SEA_BINARY']));
}
