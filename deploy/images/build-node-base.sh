#!/usr/bin/env bash
# Builds a Node.js base image FROM scratch out of this host's own node binary and the shared
# libraries it and onnxruntime-node load, for machines that cannot reach a registry.
# Usage: deploy/images/build-node-base.sh [TAG]   (default llm-platform/node-base:local)
set -euo pipefail
tag=${1:-llm-platform/node-base:local}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
node_bin=$(readlink -f "$(command -v node)")
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
libs=("$node_bin")
ort=$(ls "$root"/node_modules/onnxruntime-node/bin/napi-v*/linux/x64/onnxruntime_binding.node 2>/dev/null | head -1 || true)
"$here/rootfs-from-host.sh" "$ctx/rootfs" "${libs[@]}"
if [ -n "$ort" ]; then
  # onnxruntime's own libraries travel with the app; the system libraries they need go in the base.
  ldd "$ort" | awk '/=> \// {print $3}' | grep -v onnxruntime | while read -r lib; do
    mkdir -p "$ctx/rootfs$(dirname "$lib")"; cp -L "$lib" "$ctx/rootfs$lib"
  done
fi
mkdir -p "$ctx/rootfs/usr/local/bin" "$ctx/rootfs/home/node" "$ctx/rootfs/models"
# rootfs-from-host.sh already copied the binary at its own path: link it, do not copy it twice.
[ "$node_bin" = /usr/local/bin/node ] || ln -s "$node_bin" "$ctx/rootfs/usr/local/bin/node"
[ -d /etc/ssl/certs ] && mkdir -p "$ctx/rootfs/etc/ssl" && cp -rL /etc/ssl/certs "$ctx/rootfs/etc/ssl/" 2>/dev/null || true
cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin NODE_ENV=production
DOCKERFILE
docker build -q -t "$tag" "$ctx" >/dev/null
echo "$tag"
