// Writes a one-layer OCI image tarball from host files, for tools/build-node.sh:
//   node tools/node/oci.ts --name spaces.local/pause:3.10 --entrypoint /pause --out pause.tar /host/pause=/pause ...
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { stageRootfs, writeImage } from '../harness/oci.ts';

const { values, positionals } = parseArgs({
  options: { name: { type: 'string' }, entrypoint: { type: 'string' }, out: { type: 'string' } },
  allowPositionals: true,
});
if (!values.name || !values.entrypoint || !values.out) {
  throw new Error(
    'usage: oci.ts --name repo:tag --entrypoint /bin --out file.tar hostfile=/path/in/image ...',
  );
}
const files = Object.fromEntries(positionals.map((p) => p.split('=', 2) as [string, string]));
const rootfs = stageRootfs(files);
try {
  const digest = writeImage(values.name, rootfs, { entrypoint: [values.entrypoint] }, values.out);
  process.stderr.write(`  image ${values.name} ${digest} → ${values.out}\n`);
} finally {
  rmSync(rootfs, { recursive: true, force: true });
}
