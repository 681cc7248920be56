import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { VERSION } from './version.ts';
import { EXIT } from './errors.ts';
import { main, type Io } from './main.ts';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => (out += t), err: (t) => (err += t), now: () => new Date(0) };
  const code = await main(argv, io);
  return { code, out, err };
}

describe('kubectl spaces version', () => {
  it("prints the package's version", async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(VERSION).toBe(pkg.version);
    const r = await run('version');
    expect([r.code, r.out]).toEqual([EXIT.ok, expect.stringMatching(`^kubectl-spaces ${VERSION} \\(node `)]);
  });
});

describe('kubectl spaces: help and usage (no cluster needed)', () => {
  it.each([[], ['create'], ['create', 'app'], ['info'], ['reach'], ['render'], ['doctor']])(
    '%j --help: exit 0, usage and the kubectl flags',
    async (...cmd) => {
      const r = await run(...cmd, '--help');
      expect(r.code).toBe(EXIT.ok);
      expect(r.out).toMatch(/^Usage: kubectl spaces/);
      if (cmd.length > 0 && cmd[0] !== 'create') {
        for (const flag of ['--kubeconfig', '--context', '--namespace', '--output'])
          expect(r.out).toContain(flag);
      }
    },
  );

  it('the top-level help documents the exit codes', async () => {
    const r = await run('--help');
    for (const code of [
      '0  success',
      '1  error',
      '2  usage',
      '3  refused by validation',
      '4  doctor found problems',
    ])
      expect(r.out).toContain(code);
  });

  it.each<[string, string[]]>([
    ['no command', []],
    ['an unknown command', ['bogus']],
    ['a missing argument', ['info']],
    ['create app without --space', ['create', 'app', 'x']],
    ['an unknown flag', ['info', 'acme', '--bogus']],
    ['a bad -o', ['info', 'acme', '-o', 'xml']],
    ['a --port that is not a number', ['create', 'app', 'x', '--space', 's', '--port', 'abc']],
    ['a bad --dry-run', ['create', 'app', 'x', '--space', 's', '--dry-run=maybe']],
    ['render without -f', ['render']],
  ])('%s: exit 2', async (_name, argv) => {
    const r = await run(...argv);
    expect(r.code).toBe(EXIT.usage);
  });

  it('render -f of a missing file: exit 1 and what to do', async () => {
    const r = await run('render', '-f', '/nonexistent.yaml');
    expect(r.code).toBe(EXIT.error);
    expect(r.err).toMatch(/^error: cannot read \/nonexistent.yaml/);
    expect(r.err).toContain('hint: ');
  });

  it('an unreadable kubeconfig: exit 1 and what to do', async () => {
    const r = await run('info', 'acme', '--kubeconfig', '/nonexistent/kubeconfig');
    expect(r.code).toBe(EXIT.error);
    expect(r.err).toContain('cannot load kubeconfig /nonexistent/kubeconfig');
    expect(r.err).toContain('hint: pass --kubeconfig PATH or set KUBECONFIG');
  });

  it('global flags may come before or after the command', async () => {
    const before = await run('-o', 'xml', 'info', 'acme');
    const after = await run('info', 'acme', '-o', 'xml');
    expect([before.code, after.code]).toEqual([EXIT.usage, EXIT.usage]);
  });
});
