// The operator as the Deployment runs it: its node flags, read from deploy/deployment.yaml.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../tools/harness/binaries.ts';

/**
 * The node flags the Deployment runs the operator with (its container's command,
 * deploy/deployment.yaml). The bench runs it outside a container, so a heap sized as a share of
 * the container's memory (`--max-old-space-size-percentage`, which Node reads from the cgroup
 * limit) becomes the size Node would compute from the Deployment's memory limit.
 */
export function deployedNodeOptions(): string[] {
  const doc = parse(readFileSync(path.join(repoRoot, 'deploy', 'deployment.yaml'), 'utf8')) as {
    spec: { template: { spec: { containers: DeployedContainer[] } } };
  };
  const container = doc.spec.template.spec.containers[0];
  const flags = (container?.command ?? []).slice(1).filter((arg) => arg.startsWith('--'));
  return flags.map((flag) => asInContainer(flag, container?.resources?.limits?.memory));
}

interface DeployedContainer {
  command?: string[];
  resources?: { limits?: { memory?: string } };
}

const PERCENT_FLAG = /^--max-old-space-size-percentage=(\d+(?:\.\d+)?)$/;

/** `--max-old-space-size-percentage=P` as the MiB Node derives from a memory limit (`512Mi`). */
export function asInContainer(flag: string, limit: string | undefined): string {
  const percent = PERCENT_FLAG.exec(flag)?.[1];
  if (percent === undefined) return flag;
  const size = /^(\d+)(Mi|Gi)$/.exec(limit ?? '');
  if (!size)
    throw new Error(`deploy/deployment.yaml: ${flag} needs a memory limit in Mi or Gi, not ${limit}`);
  const mib = Number(size[1]) * (size[2] === 'Gi' ? 1024 : 1);
  return `--max-old-space-size=${Math.floor((mib * Number(percent)) / 100)}`;
}
