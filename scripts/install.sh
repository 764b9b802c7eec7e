#!/usr/bin/env bash
# Installs everything weft needs on a fresh Debian/Ubuntu machine (run as root):
# the system packages its data plane, tests and demo use, the npm dependencies,
# and the build (TypeScript, CNI plugin bundles, native addon).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  iproute2 nftables iptables iputils-ping iputils-arping ethtool tcpdump iperf3 socat procps kmod
  tinc containernetworking-plugins podman runc docker.io busybox-static
  python3 make g++ libssl-dev
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
npm run build
echo "install: done"
