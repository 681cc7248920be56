import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { blob, imageConfig, index, manifest, stageRootfs, writeImage } from './oci.ts';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = (): string => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'oci-test-'));
  dirs.push(d);
  return d;
};

describe('OCI image pieces', () => {
  it('names a blob by the sha256 of its bytes', () => {
    expect(blob('abc').digest).toBe(
      'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(blob('abc').size).toBe(3);
  });

  it('writes the entrypoint, user, working folder and ports into the config', () => {
    const cfg = JSON.parse(
      imageConfig(
        {
          entrypoint: ['/nodejs/bin/node', 'main.js'],
          user: '65532:65532',
          workingDir: '/app',
          exposedPorts: ['9443', '53/udp'],
        },
        'sha256:00',
      ),
    ) as { config: Record<string, unknown>; rootfs: { diff_ids: string[] }; os: string };
    expect(cfg.config.Entrypoint).toEqual(['/nodejs/bin/node', 'main.js']);
    expect(cfg.config.User).toBe('65532:65532');
    expect(cfg.config.WorkingDir).toBe('/app');
    expect(cfg.config.ExposedPorts).toEqual({ '9443/tcp': {}, '53/udp': {} });
    expect(cfg.rootfs.diff_ids).toEqual(['sha256:00']);
    expect(cfg.os).toBe('linux');
  });

  it('references config and layer from the manifest, and names the image in the index', () => {
    const c = blob('{}');
    const l = blob('layer');
    const m = JSON.parse(manifest(c, l)) as {
      config: { digest: string };
      layers: { digest: string; size: number }[];
    };
    expect(m.config.digest).toBe(c.digest);
    expect(m.layers).toEqual([expect.objectContaining({ digest: l.digest, size: 5 })]);
    const i = JSON.parse(index('spaces.local/pause:3.10', blob(manifest(c, l)))) as {
      manifests: { annotations: Record<string, string> }[];
    };
    expect(i.manifests[0]?.annotations['io.containerd.image.name']).toBe('spaces.local/pause:3.10');
    expect(i.manifests[0]?.annotations['org.opencontainers.image.ref.name']).toBe('3.10');
  });
});

describe('writeImage', () => {
  it('writes an oci-layout archive whose blobs match their digests and hold the files', () => {
    const work = tmp();
    const bin = path.join(work, 'hello');
    writeFileSync(bin, '#!/bin/sh\necho hi\n');
    const rootfs = stageRootfs({ [bin]: '/bin/hello' });
    dirs.push(rootfs);
    const out = path.join(work, 'image.tar');
    const digest = writeImage('spaces.local/hello:1', rootfs, { entrypoint: ['/bin/hello'] }, out);
    const x = path.join(work, 'x');
    execFileSync('mkdir', [x]);
    execFileSync('tar', ['-C', x, '-xf', out]);
    expect(JSON.parse(readFileSync(path.join(x, 'oci-layout'), 'utf8'))).toEqual({
      imageLayoutVersion: '1.0.0',
    });
    const idx = JSON.parse(readFileSync(path.join(x, 'index.json'), 'utf8')) as {
      manifests: { digest: string }[];
    };
    expect(idx.manifests[0]?.digest).toBe(digest);
    const read = (d: string): Buffer => readFileSync(path.join(x, 'blobs/sha256', d.slice(7)));
    expect(blob(read(digest)).digest).toBe(digest);
    const man = JSON.parse(read(digest).toString()) as { layers: { digest: string }[] };
    const layer = man.layers[0]?.digest ?? '';
    expect(blob(read(layer)).digest).toBe(layer);
    const files = execFileSync('tar', ['-tzf', path.join(x, 'blobs/sha256', layer.slice(7))], {
      encoding: 'utf8',
    });
    expect(files.split('\n')).toEqual(expect.arrayContaining(['./bin/hello', './etc/passwd', './tmp/']));
  });

  it('refuses a name without a tag', () => {
    expect(() =>
      writeImage('spaces.local/hello', tmp(), { entrypoint: ['/x'] }, path.join(tmp(), 'o.tar')),
    ).toThrow(/no tag/);
  });
});
