// Runs the kubectl built with the control plane (the machine's may be too old).
import { readFile, writeFile } from 'node:fs/promises';
import { binaries } from './binaries.ts';
import { runProcess, type ProcessResult } from './process.ts';

export type KubectlResult = ProcessResult;

export async function kubectl(
  kubeconfigPath: string,
  args: string[],
  input?: string,
): Promise<KubectlResult> {
  const { kubectl: bin } = await binaries('kubectl');
  return runProcess(bin, args, { env: { ...process.env, KUBECONFIG: kubeconfigPath }, input: input ?? '' });
}

/** Like kubectl, but throws with stderr when it fails. */
export async function kubectlOk(kubeconfigPath: string, args: string[], input?: string): Promise<string> {
  const r = await kubectl(kubeconfigPath, args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/**
 * Writes `file`: the admin kubeconfig, authenticated instead as ServiceAccount `namespace/name`
 * with a fresh token (TokenRequest), so a process runs with exactly that account's rights.
 */
export async function serviceAccountKubeconfig(
  adminKubeconfig: string,
  account: { namespace: string; name: string },
  file: string,
  duration = '1h',
): Promise<string> {
  const args = ['create', 'token', account.name, '-n', account.namespace, `--duration=${duration}`];
  const token = (await kubectlOk(adminKubeconfig, args)).trim();
  const admin = await readFile(adminKubeconfig, 'utf8');
  await writeFile(file, admin.replace(/token: .*/, `token: ${token}`), { mode: 0o600 });
  return file;
}
