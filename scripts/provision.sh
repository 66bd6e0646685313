#!/usr/bin/env bash
# Provisions a Debian machine (as root) for pbx's integration tests and offline use: installs Debian's
# Docker engine, starts it in the background, installs the independent test clients, and builds the
# service images with no registry (`pbx images build`). Idempotent: seconds when everything is there.
# Usage: npm run provision
set -euo pipefail
cd "$(dirname "$0")/.."

start_ms=$(($(date +%s%N) / 1000000))
log() { printf '[provision %6d ms] %s\n' "$(($(date +%s%N) / 1000000 - start_ms))" "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "provision: run as root (it installs packages and starts dockerd)." >&2
  exit 1
fi

# Debian packages: the engine, what `pbx images build` needs, the clients tests use as independent checks, and
# the tools tests drive pbx with (`script` and `tmux` for a terminal, `chattr` for a file no one may remove, `pgrep`).
packages=(docker.io debootstrap cgroupfs-mount ca-certificates openssl maven kcat redis-tools python3-cassandra
  bsdutils tmux e2fsprogs procps)
missing=()
for p in "${packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}" >/dev/null
fi

start_engine() {
  local driver=$1
  nohup dockerd --storage-driver="$driver" >/var/log/pbx-dockerd.log 2>&1 &
  for _ in $(seq 1 150); do
    docker version >/dev/null 2>&1 && return 0
    kill -0 $! 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

if docker version >/dev/null 2>&1; then
  log "Docker engine already answers"
else
  # No systemd here: mount the cgroup hierarchy if nobody did, then run dockerd in the background.
  mountpoint -q /sys/fs/cgroup || cgroupfs-mount
  if start_engine overlay2; then
    log "dockerd started (overlay2)"
  else
    log "overlay2 failed (see /var/log/pbx-dockerd.log); falling back to vfs"
    pkill dockerd || true
    sleep 1
    start_engine vfs || { echo "provision: dockerd did not start; see /var/log/pbx-dockerd.log" >&2; exit 1; }
    log "dockerd started (vfs)"
  fi
fi

if [ ! -f node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund >/dev/null
fi

log "building images"
npx tsx src/main.ts images build
log "done"
