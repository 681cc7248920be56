// Generated manifests match their source, and the repo runs on Node 24.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../src/harness/binaries.ts';
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
