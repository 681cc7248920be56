// The operator process stays small by what it does not load: @kubernetes/client-node (~86 MiB
// RSS: its KubeConfig pulls in the whole generated API, plus undici) and TypeBox (~18 MiB; only
// `npm run gen:crds` and tests need the schemas). `import type` from them is fine; a value
// import anywhere in the operator's graph would quietly bring the cost back, so this test loads
// src/main.ts's graph in a child process and lists every package it resolved.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

function packagesLoadedBy(entry: string): string[] {
  const script = `
    import { registerHooks } from 'node:module';
    const seen = new Set();
    registerHooks({
      resolve(specifier, context, next) {
        const r = next(specifier, context);
        const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(r.url);
        if (m) seen.add(m[1]);
        return r;
      },
    });
    await import(${JSON.stringify(entry)});
    console.log(JSON.stringify([...seen].sort()));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').pop() ?? '[]') as string[];
}

describe("the operator's run-time imports", () => {
  it('leave out client-node, undici and TypeBox', () => {
    const loaded = packagesLoadedBy(path.join(root, 'src/operator.ts'));
    expect(loaded).toContain('pino'); // the hook sees packages at all
    expect(loaded).not.toContain('@kubernetes/client-node');
    expect(loaded).not.toContain('undici');
    expect(loaded).not.toContain('@sinclair/typebox');
  });
});
