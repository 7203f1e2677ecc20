#!/usr/bin/env bash
# Builds a small Redis image FROM scratch out of the host's redis-server and redis-cli (no registry
# needed; redis-cli serves the compose health check `redis-cli ping`, as in the public image).
# Usage: deploy/images/build-redis-image.sh [TAG]   (default llm-platform/redis:local)
set -euo pipefail
tag=${1:-llm-platform/redis:local}
here=$(cd "$(dirname "$0")" && pwd)
bin=$(command -v redis-server) || { echo "redis-server is not installed (apt-get install -y redis-server)" >&2; exit 1; }
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cli=$(command -v redis-cli) || { echo "redis-cli is not installed (apt-get install -y redis-tools)" >&2; exit 1; }
"$here/rootfs-from-host.sh" "$ctx/rootfs" "$(readlink -f "$bin")" "$(readlink -f "$cli")"
mkdir -p "$ctx/rootfs/usr/local/bin" "$ctx/rootfs/data"
cp -L "$(readlink -f "$bin")" "$ctx/rootfs/usr/local/bin/redis-server"
cp -L "$(readlink -f "$cli")" "$ctx/rootfs/usr/local/bin/redis-cli"
cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
WORKDIR /data
EXPOSE 6379
ENV PATH=/usr/local/bin:/usr/bin:/bin
CMD ["redis-server"]
DOCKERFILE
docker build -q -t "$tag" "$ctx" >/dev/null
echo "$tag"
