#!/usr/bin/env bash
# Copies host binaries and every shared library they load (from ldd) into a root filesystem folder,
# so an image can be built FROM scratch with no registry. Usage: rootfs-from-host.sh DEST BINARY...
set -euo pipefail
dest=$1; shift
mkdir -p "$dest"
copy() { # keep the path; follow symlinks so the file itself lands
  local src=$1
  mkdir -p "$dest$(dirname "$src")"
  cp -L "$src" "$dest$src"
}
for bin in "$@"; do
  copy "$bin"
  ldd "$bin" 2>/dev/null | awk '/=>/ {print $3} /^\s*\/.*ld-linux/ {print $1}' | while read -r lib; do
    [ -n "$lib" ] && [ -e "$lib" ] && copy "$lib"
  done
done
# The dynamic loader under its canonical names.
for ld in /lib64/ld-linux-x86-64.so.2 /lib/ld-linux-aarch64.so.1; do [ -e "$ld" ] && copy "$ld"; done
mkdir -p "$dest/tmp" "$dest/etc"
chmod 1777 "$dest/tmp"
echo 'root:x:0:0:root:/root:/sbin/nologin' > "$dest/etc/passwd"
echo 'node:x:1000:1000:node:/home/node:/sbin/nologin' >> "$dest/etc/passwd"
echo 'nogroup:x:65534:' > "$dest/etc/group"
echo 'node:x:1000:' >> "$dest/etc/group"
echo 'hosts: files dns' > "$dest/etc/nsswitch.conf"
