#!/usr/bin/env bash
# The benchmarks' peers, from Debian's packages: trafgen (netsniff-ng) and tcpdump, plus
# taskset (util-linux) to pin each contender to one CPU. Run after scripts/setup.sh.
set -euo pipefail
packages=()
command -v trafgen >/dev/null || packages+=(netsniff-ng)
command -v tcpdump >/dev/null || packages+=(tcpdump)
command -v taskset >/dev/null || packages+=(util-linux)
if ((${#packages[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "netring benchmark: install ${packages[*]} (needs root: sudo apt-get install ${packages[*]})" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi
