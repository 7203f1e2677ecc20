#!/usr/bin/env bash
# Builds a small Prometheus image FROM scratch out of the host's prometheus binary (Debian's
# `prometheus` package; no registry needed), for docker-compose.yml's `prometheus` profile where
# prom/prometheus cannot be pulled. Same entry point and paths as the public image: config at
# /etc/prometheus/prometheus.yml, data in /prometheus (owned by nobody, as there).
# Usage: deploy/images/build-prometheus-image.sh [TAG]   (default llm-platform/prometheus:local)
set -euo pipefail
tag=${1:-llm-platform/prometheus:local}
here=$(cd "$(dirname "$0")" && pwd)
bin=$(command -v prometheus) || { echo "prometheus is not installed (apt-get install -y prometheus)" >&2; exit 1; }
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
"$here/rootfs-from-host.sh" "$ctx/rootfs" "$(readlink -f "$bin")"
mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/etc/prometheus" "$ctx/data"
touch "$ctx/data/.keep" # COPY creates /prometheus from it, owned by nobody (an empty folder would not be copied)
cp -L "$(readlink -f "$bin")" "$ctx/rootfs/bin/prometheus"
echo 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' >> "$ctx/rootfs/etc/passwd"
echo 'nobody:x:65534:' >> "$ctx/rootfs/etc/group"
cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
COPY --chown=65534:65534 data /prometheus
USER 65534
WORKDIR /prometheus
EXPOSE 9090
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
DOCKERFILE
docker build -q -t "$tag" "$ctx" >/dev/null
echo "$tag"
