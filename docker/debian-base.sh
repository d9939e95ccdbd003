#!/bin/sh
# Writes a Debian 12 (bookworm) root file system as a tar file, for hosts that
# cannot pull debian:bookworm-slim from a registry. Needs root and debootstrap;
# downloads from the mirror apt uses (DEBIAN_MIRROR overrides it).
#
#   sudo docker/debian-base.sh /tmp/bookworm.tar
#   sudo podman import /tmp/bookworm.tar localhost/debian:bookworm-slim
#
# `FROM debian:bookworm-slim` in docker/Dockerfile then finds the local image
# (build with `podman build --pull=never`).
set -eu

if [ "$#" -ne 1 ]; then
  echo "usage: $0 OUT.tar" >&2
  exit 64
fi
out=$1

# The first bookworm `deb` source in apt's one-line (*.list) or deb822
# (*.sources) files.
apt_mirror() {
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '$1 == "deb" {
           i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
           if ($(i + 1) == "bookworm") { print $i; exit }
         }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'function flush() {
           if (deb && bookworm && uri != "") print uri
           deb = 0; bookworm = 0; uri = ""
         }
         /^[ \t]*$/ { flush(); next }
         /^Types:/ { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
         /^URIs:/ { uri = $2 }
         /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") bookworm = 1 }
         END { flush() }' "$f"
  done
}

mirror=${DEBIAN_MIRROR:-$(apt_mirror | head -n 1)}
if [ -z "$mirror" ]; then
  echo "$0: no bookworm source in /etc/apt/sources.list{,.d}; set DEBIAN_MIRROR" >&2
  exit 1
fi

root=$(mktemp -d "${TMPDIR:-/tmp}/debian-base.XXXXXX")
trap 'rm -rf --one-file-system "$root"' EXIT
trap 'exit 1' INT TERM
# In a mount namespace of its own: the file systems debootstrap mounts in the
# new root (/proc, /sys, ...) go with it, even when it fails half-way.
if ! unshare --mount --propagation private \
  debootstrap --variant=minbase bookworm "$root" "$mirror" >&2; then
  tail -n 20 "$root/debootstrap/debootstrap.log" >&2 || true
  exit 1
fi
# What a slim image leaves out: downloaded packages and package lists.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
  "$root"/var/lib/apt/lists/*
tar -C "$root" -cf "$out" .
