#!/usr/bin/env bash
# Builds `kubectl spaces` as one file that needs nothing installed (Node's single executable
# applications): dist/sea/kubectl-spaces, for this machine's OS and architecture. Also leaves
# dist/sea/kubectl-spaces.cjs, the same CLI as one CommonJS file for any Node >= 20.
#
# Steps (https://nodejs.org/api/single-executable-applications.html):
#   1. tools/bundle.ts: the CLI and its packages as one CommonJS script (builtins only);
#   2. node --experimental-sea-config: the script as a preparation blob;
#   3. a copy of this Node binary, the blob injected with postject (from the npm registry, pinned).
# Install as a kubectl plugin: put dist/sea/kubectl-spaces on your PATH (README, `kubectl spaces`).
set -euo pipefail
cd "$(dirname "$0")/.."
# Node 24 from the devDependency (npm sets $NODE to whatever node runs npm, so another name).
NODE=${SEA_NODE:-node_modules/.bin/node}
POSTJECT=${POSTJECT:-postject@1.0.0-alpha.6}
out=dist/sea
mkdir -p "$out"

echo "build-sea: bundling src/cli/main.ts" >&2
"$NODE" tools/bundle.ts src/cli/main.ts "$out/kubectl-spaces.cjs"

cat > "$out/sea-config.json" <<JSON
{
  "main": "$out/kubectl-spaces.cjs",
  "output": "$out/sea-prep.blob",
  "disableExperimentalSEAWarning": true,
  "useSnapshot": false,
  "useCodeCache": false
}
JSON
"$NODE" --experimental-sea-config "$out/sea-config.json" >&2

exe="$out/kubectl-spaces"
rm -f "$exe"
cp "$("$NODE" -p process.execPath)" "$exe"
chmod u+w "$exe"
echo "build-sea: injecting the blob with $POSTJECT" >&2
npx --yes "$POSTJECT" "$exe" NODE_SEA_BLOB "$out/sea-prep.blob" \
  --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 >&2
rm -f "$out/sea-prep.blob" "$out/sea-config.json"
echo "build-sea: $exe ($(du -h "$exe" | cut -f1))" >&2
