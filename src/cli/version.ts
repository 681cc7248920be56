// The CLI's version, printed by `kubectl spaces version`. A constant (not read from package.json
// at run time) so the single executable carries it; main.test.ts checks it equals package.json's.
export const VERSION = '0.1.0';

/** `kubectl-spaces <version> (node <version>, <platform>/<arch>)`. */
export function versionText(): string {
  return `kubectl-spaces ${VERSION} (node ${process.versions.node}, ${process.platform}/${process.arch})\n`;
}
