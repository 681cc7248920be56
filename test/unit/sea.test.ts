// `npm run build:sea` (tools/build-sea.sh) makes a single executable that answers `version` and
// `--help` with nothing else installed; its one-file bundle runs on the machine's Node 20 too
// (the Node kubectl users have), where the TypeScript source cannot run.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../../src/cli/version.ts';

const root = path.resolve(import.meta.dirname, '../..');
const exe = path.join(root, 'dist/sea/kubectl-spaces');
const bundle = path.join(root, 'dist/sea/kubectl-spaces.cjs');

/** Runs a command with an empty environment but PATH (no NODE_OPTIONS, no node_modules). */
function run(cmd: string, args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(cmd, args, {
    cwd: '/',
    env: { PATH: '/usr/bin:/bin' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('kubectl-spaces as a single executable', () => {
  beforeAll(() => {
    execFileSync('bash', [path.join(root, 'tools/build-sea.sh')], {
      cwd: root,
      stdio: 'inherit',
      timeout: 600_000,
    });
  }, 600_000);

  it('answers version', () => {
    const r = run(exe, ['version']);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toMatch(new RegExp(`^kubectl-spaces ${VERSION.replace(/\./g, '\\.')} \\(node 24\\.`));
  });

  it('answers --help with the commands and exit codes', () => {
    const r = run(exe, ['--help']);
    expect(r.code).toBe(0);
    for (const text of [
      'Usage: kubectl spaces',
      'create',
      'doctor',
      'reach',
      'version',
      '3  refused by validation',
    ])
      expect(r.out).toContain(text);
  });

  it('says what is wrong without a cluster, as the CLI does (exit 1, a hint)', () => {
    const r = run(exe, ['info', 'acme', '--kubeconfig', '/nonexistent/kubeconfig']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('error: cannot load kubeconfig /nonexistent/kubeconfig');
    expect(r.err).toContain('hint: pass --kubeconfig PATH or set KUBECONFIG');
  });

  it("runs as one file on the machine's oldest Node (Node 20 where it is installed)", () => {
    const node = ['/usr/bin/node', '/bin/node'].find(existsSync) ?? process.execPath;
    const major = Number(
      execFileSync(node, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }),
    );
    const r = run(node, [bundle, 'version']);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toContain(`(node ${major}.`);
  });
});
