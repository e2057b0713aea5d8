#!/usr/bin/env bash
# The benchmarks' peers, from Debian's packages: trafgen (netsniff-ng) and tcpdump, plus
# taskset (util-linux) to pin each contender to one CPU. Run after scripts/setup.sh.
set -euo pipefail
# shellcheck source=scripts/apt-install.sh
source "$(dirname "$0")/../scripts/apt-install.sh"
packages=()
command -v trafgen >/dev/null || packages+=(netsniff-ng)
command -v tcpdump >/dev/null || packages+=(tcpdump)
command -v taskset >/dev/null || packages+=(util-linux)
apt_install "netring benchmark" "${packages[@]}"
