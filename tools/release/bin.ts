// helm and promtool for the chart and alert tests: built once from their Go modules by
// tools/build-binaries.sh (components `helm`, `promtool`) and cached in .cache/bin by version.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../..');
const built = new Map<string, string>();

export type Tool = 'helm' | 'promtool';

/** The absolute path of the tool, building it on first use (minutes for a cold promtool build). */
export async function tool(name: Tool): Promise<string> {
  const have = built.get(name);
  if (have) return have;
  const child = run('bash', [path.join(repoRoot, 'tools/build-binaries.sh'), name], { maxBuffer: 1 << 20 });
  child.child.stderr?.pipe(process.stderr);
  const { stdout } = await child;
  const dir = stdout
    .split('\n')
    .find((l) => l.startsWith(`${name}=`))
    ?.slice(name.length + 1);
  if (!dir) throw new Error(`tools/build-binaries.sh ${name} printed no ${name}=DIR line`);
  const file = path.join(dir, name);
  built.set(name, file);
  return file;
}
