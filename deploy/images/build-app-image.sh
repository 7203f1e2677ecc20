#!/usr/bin/env bash
# Builds the platform's one app image from what this host built: compiled dist/ folders, package
# manifests and production node_modules (dev dependencies pruned, onnxruntime-node's binaries for
# other platforms removed). No network: BASE_IMAGE must be present locally (LLM_BASE_IMAGE, or the
# public node image when a registry is reachable).
# Usage: deploy/images/build-app-image.sh [TAG]   (default llm-platform/app:local)
set -euo pipefail
tag=${1:-${LLM_IMAGE:-llm-platform/app:local}}
base=${LLM_BASE_IMAGE:-node:20-bookworm-slim}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
[ -d node_modules ] || { echo "run npm ci first" >&2; exit 1; }
node scripts/build.mjs
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
app="$ctx/app"
mkdir -p "$app/deploy"
cp package.json package-lock.json .npmrc "$app/"
cp -r deploy/container "$app/deploy/"
for dir in libs/* apps/*; do
  [ -f "$dir/package.json" ] || continue
  mkdir -p "$app/$dir"
  cp "$dir/package.json" "$app/$dir/"
  [ -d "$dir/dist" ] && cp -r "$dir/dist" "$app/$dir/"
  [ -d "$dir/bin" ] && cp -r "$dir/bin" "$app/$dir/"
done
# Production dependencies only (npm's own view of the tree, dev dependencies left out), copied
# package by package; workspace packages stay symlinks into the staged libs/ and apps/.
arch=$(node -p 'process.arch')
npm ls --omit=dev --all --parseable 2>/dev/null | sed "s#^$root/##" | grep '^node_modules/' \
  | grep -v '^node_modules/.*/node_modules/' | while read -r pkg; do
  mkdir -p "$app/$(dirname "$pkg")"
  if [ "$pkg" = node_modules/onnxruntime-node ]; then
    # onnxruntime-node ships binaries for every platform; keep this machine's (no CUDA on CPU).
    tar -C "$root" --exclude='bin/napi-v*/darwin' --exclude='bin/napi-v*/win32' \
      --exclude="bin/napi-v*/linux/$([ "$arch" = x64 ] && echo arm64 || echo x64)" -cf - "$pkg" | tar -C "$app" -xf -
  else
    cp -a "$pkg" "$app/$pkg"
  fi
done
find "$app/node_modules" \( -name '*.md' -o -name '*.map' -o -name '*.ts' ! -name '*.d.ts' \) -type f -delete 2>/dev/null || true
find "$app" -path '*/dist/*' -name '*.map' -delete
cp deploy/Dockerfile "$ctx/Dockerfile"
echo "staged $(du -sh "$app" | cut -f1) into the build context" >&2
docker build -q --build-arg "BASE_IMAGE=$base" -t "$tag" "$ctx" >/dev/null
echo "$tag"
