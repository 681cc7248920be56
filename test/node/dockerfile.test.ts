// The Dockerfile interpreter behind the operator's local image (tools/node/dockerfile.ts): pure
// parsing, and the project's own Dockerfile read with its defaults and with local base images.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { operatorImage } from '../../tools/harness/images.ts';
import { expand, parseCopy, parseDockerfile, parseExecForm } from '../../tools/node/dockerfile.ts';

const root = path.resolve(import.meta.dirname, '../..');

describe('parseDockerfile', () => {
  it('drops comments and joins continued lines', () => {
    const ins = parseDockerfile('# syntax=docker/dockerfile:1\nFROM a AS b\n\nRUN one \\\n  two\nuser 1\n');
    expect(ins).toEqual([
      { op: 'FROM', args: 'a AS b', line: 2 },
      { op: 'RUN', args: 'one two', line: 4 },
      { op: 'USER', args: '1', line: 6 },
    ]);
  });

  it("reads the project's Dockerfile: base images are build arguments with public defaults", () => {
    const ins = parseDockerfile(readFileSync(path.join(root, 'Dockerfile'), 'utf8'));
    const args = ins.filter((i) => i.op === 'ARG').map((i) => i.args);
    expect(args).toContain('BUILD_IMAGE=node:24-bookworm-slim');
    expect(args).toContain('RUN_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot');
    expect(ins.filter((i) => i.op === 'FROM').map((i) => i.args)).toEqual([
      '${BUILD_IMAGE} AS build',
      '${RUN_IMAGE}',
    ]);
    const supported = ['ARG', 'FROM', 'WORKDIR', 'COPY', 'RUN', 'USER', 'EXPOSE', 'ENTRYPOINT', 'ENV'];
    expect(ins.map((i) => i.op).filter((op) => !supported.includes(op))).toEqual([]);
    expect(parseExecForm(ins.find((i) => i.op === 'ENTRYPOINT')?.args ?? '')).toEqual([
      '/nodejs/bin/node',
      'dist/src/main.js',
    ]);
  });
});

describe('instruction arguments', () => {
  it('expands ${NAME} and $NAME, unknown names to nothing', () => {
    expect(expand('${A} $B-${C}', { A: 'x', B: 'y' })).toBe('x y-');
  });

  it('reads COPY with and without --from', () => {
    expect(parseCopy('package.json package-lock.json ./')).toEqual({
      from: undefined,
      sources: ['package.json', 'package-lock.json'],
      dest: './',
    });
    expect(parseCopy('--from=build /src/dist/src ./dist/src')).toEqual({
      from: 'build',
      sources: ['/src/dist/src'],
      dest: './dist/src',
    });
    expect(() => parseCopy('--chown=1:1 a b')).toThrow(/only --from/);
    expect(() => parseCopy('onlyone')).toThrow(/source and a destination/);
  });

  it('takes ENTRYPOINT in exec form only', () => {
    expect(() => parseExecForm('"node main.js"')).toThrow(/exec form/);
  });
});

/** The paths in the one layer of an OCI archive written by tools/harness/oci.ts. */
function layerFiles(tar: string): string[] {
  const read = (member: string): string =>
    execFileSync('tar', ['-xOf', tar, member], { maxBuffer: 1 << 20 }).toString();
  const index = JSON.parse(read('index.json')) as { manifests: { digest: string }[] };
  const man = JSON.parse(read(`blobs/sha256/${index.manifests[0]!.digest.slice(7)}`)) as {
    layers: { digest: string }[];
  };
  const layer = execFileSync('tar', ['-xOf', tar, `blobs/sha256/${man.layers[0]!.digest.slice(7)}`], {
    maxBuffer: 512 << 20,
  });
  return execFileSync('tar', ['-tz'], { input: layer, maxBuffer: 64 << 20 })
    .toString()
    .split('\n')
    .filter(Boolean);
}

describe("the operator's image", () => {
  it('holds the compiled operator and CLI, and no harness, test, fixture or local-run code', async () => {
    const { tar } = await operatorImage();
    const files = layerFiles(tar).map((f) => f.replace(/^\.?\//, ''));
    const app = files.filter((f) => f.startsWith('app/dist/'));
    expect(app).toContain('app/dist/src/main.js');
    expect(app).toContain('app/dist/src/cli/main.js');
    const forbidden = app.filter((f) =>
      /harness|\.test\.js|fixtures\.js|testdata|local\.js|apilookup|\/test\/|\/tools\/|\/bench\//.test(f),
    );
    expect(forbidden).toEqual([]);
  });
});
