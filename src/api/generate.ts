// Writes crds/*.yaml from the TypeBox schemas: `npm run gen:crds` (node src/api/generate.ts).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderCrdFiles } from './crds.ts';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../crds');
await mkdir(dir, { recursive: true });
for (const [name, text] of renderCrdFiles()) {
  await writeFile(path.join(dir, name), text);
  console.log(`wrote crds/${name}`);
}
