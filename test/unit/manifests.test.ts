// Generated manifests match their source, and the repo runs on Node 24.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../../tools/harness/binaries.ts';
import { webhookManifest } from '../../tools/gen-deploy.ts';

describe('generated manifests', () => {
  it('deploy/webhook.yaml is what `npm run gen:deploy` writes', () => {
    expect(readFileSync(path.join(repoRoot, 'deploy/webhook.yaml'), 'utf8')).toBe(webhookManifest());
  });
});

describe('runtime', () => {
  it('runs on Node 24 or newer', () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(24);
  });
});

describe('the Deployment command', () => {
  const deployment = parse(readFileSync(path.join(repoRoot, 'deploy/deployment.yaml'), 'utf8')) as {
    spec: { template: { spec: { containers: Array<{ command: string[] }> } } };
  };
  const command = deployment.spec.template.spec.containers[0]!.command;
  const entrypoint = JSON.parse(
    /^ENTRYPOINT (.*)$/m.exec(readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8'))![1]!,
  ) as string[];

  it("runs the image's node and script, with node flags between them", () => {
    expect(command[0]).toBe(entrypoint[0]);
    expect(command.at(-1)).toBe(entrypoint.at(-1));
    expect(command.slice(1, -1).every((a) => a.startsWith('--'))).toBe(true);
  });

  it('gives node flags it accepts (some V8 flags are refused in NODE_OPTIONS, not here)', () => {
    const out = execFileSync(process.execPath, [...command.slice(1, -1), '-e', 'console.log("ok")'], {
      encoding: 'utf8',
    });
    expect(out.trim()).toBe('ok');
  });
});
