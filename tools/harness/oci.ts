// Writes OCI image tarballs (the `oci-layout` archive `ctr images import` reads) with no registry
// and no Docker: one gzip layer made from a root filesystem folder, an image config, a manifest
// and an index naming the image. Used for pause, agnhost, CoreDNS and the operator's own image.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

/** What the image runs: the parts of the OCI image config this project uses. */
export interface ImageConfig {
  entrypoint: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
  user?: string;
  exposedPorts?: string[];
}

export interface Blob {
  digest: string;
  size: number;
  data: Buffer;
}

export function blob(data: Buffer | string): Blob {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
  return { digest: `sha256:${createHash('sha256').update(buf).digest('hex')}`, size: buf.length, data: buf };
}

/** The image config JSON for one layer whose uncompressed tar has digest `diffId`. */
export function imageConfig(config: ImageConfig, diffId: string): string {
  const ports = Object.fromEntries(
    (config.exposedPorts ?? []).map((p) => [p.includes('/') ? p : `${p}/tcp`, {}]),
  );
  return JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: {
      Entrypoint: config.entrypoint,
      ...(config.cmd ? { Cmd: config.cmd } : {}),
      Env: config.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      ...(config.workingDir ? { WorkingDir: config.workingDir } : {}),
      ...(config.user ? { User: config.user } : {}),
      ...(config.exposedPorts?.length ? { ExposedPorts: ports } : {}),
    },
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created_by: 'spaces-operator tools/harness/oci.ts' }],
  });
}

export function manifest(config: Blob, layer: Blob): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: config.digest,
      size: config.size,
    },
    layers: [
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer.digest, size: layer.size },
    ],
  });
}

/** The index: `io.containerd.image.name` is the full name ctr imports the image under. */
export function index(name: string, man: Blob): string {
  const tag = name.slice(name.lastIndexOf(':') + 1);
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: man.digest,
        size: man.size,
        platform: { architecture: 'amd64', os: 'linux' },
        annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': tag },
      },
    ],
  });
}

/** A reproducible tar of `rootfs` (owner root, fixed mtime, sorted names). */
function tarOf(rootfs: string): Buffer {
  const args = ['-C', rootfs, '--sort=name', '--owner=0', '--group=0', '--numeric-owner'];
  return execFileSync('tar', [...args, '--mtime=@0', '-cf', '-', '.'], { maxBuffer: 2 ** 31 });
}

/** Writes an OCI archive of the image `name` (e.g. `spaces.local/pause:3.10`) to `out`. */
export function writeImage(name: string, rootfs: string, config: ImageConfig, out: string): string {
  if (!name.includes(':')) throw new Error(`image name ${name} has no tag; write it as repo:tag`);
  const raw = tarOf(rootfs);
  const layer = blob(gzipSync(raw, { level: 6 }));
  const cfg = blob(imageConfig(config, blob(raw).digest));
  const man = blob(manifest(cfg, layer));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'oci-'));
  try {
    const blobs = path.join(dir, 'blobs/sha256');
    mkdirSync(blobs, { recursive: true });
    for (const b of [layer, cfg, man]) writeFileSync(path.join(blobs, b.digest.slice(7)), b.data);
    writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    writeFileSync(path.join(dir, 'index.json'), index(name, man));
    mkdirSync(path.dirname(out), { recursive: true });
    execFileSync('tar', [
      '-C',
      dir,
      '--owner=0',
      '--group=0',
      '-cf',
      out,
      'oci-layout',
      'index.json',
      'blobs',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return man.digest;
}

/** Copies `files` (host path → path in the image) into a fresh root filesystem folder. */
export function stageRootfs(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rootfs-'));
  for (const [from, to] of Object.entries(files)) {
    const dest = path.join(dir, to);
    mkdirSync(path.dirname(dest), { recursive: true });
    writeFileSync(dest, readFileSync(from), { mode: 0o755 });
  }
  mkdirSync(path.join(dir, 'tmp'), { recursive: true, mode: 0o1777 });
  mkdirSync(path.join(dir, 'etc'), { recursive: true });
  writeFileSync(
    path.join(dir, 'etc/passwd'),
    'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n',
  );
  writeFileSync(path.join(dir, 'etc/group'), 'root:x:0:\nnonroot:x:65532:\n');
  return dir;
}
