#!/usr/bin/env bash
# The benchmarks' peers, from Debian's packages: trafgen (netsniff-ng) and tcpdump, plus
# taskset (util-linux) to pin each contender to one CPU; the native drain reader (a release
# build of crates/core/examples/drain.rs) and the C recv() loop (benchmark/c/recv-loop.c); and node_pcap (npm `pcap`, a libpcap
# binding built with node-gyp) in benchmark/node-pcap/, its own package so that it never
# becomes a dependency of netring. Run after scripts/setup.sh.
set -euo pipefail
# shellcheck source=scripts/apt-install.sh
source "$(dirname "$0")/../scripts/apt-install.sh"
packages=()
command -v trafgen >/dev/null || packages+=(netsniff-ng)
command -v tcpdump >/dev/null || packages+=(tcpdump)
command -v taskset >/dev/null || packages+=(util-linux)
dpkg -s libpcap-dev >/dev/null 2>&1 || packages+=(libpcap-dev)   # node_pcap compiles against pcap/pcap.h
command -v python3 >/dev/null || packages+=(python3)   # node-gyp runs gyp with it
command -v make >/dev/null || packages+=(make)
command -v g++ >/dev/null || packages+=(g++)
apt_install "netring benchmark" "${packages[@]}"

cargo build --quiet --release -p netring-core --example drain
# The C recv() loop, int:'s floor (a build output: into target/, never committed).
root=$(dirname "$0")/..
mkdir -p "$root/target/release"
gcc -O2 -Wall -Wextra -o "$root/target/release/recv-loop" "$root/benchmark/c/recv-loop.c"

# node_pcap: npm ci only when the lockfile changed since the last install or the native
# module is missing (a failed build). node-gyp would download Node's headers from nodejs.org;
# the headers of the running node (its include/node) do instead, offline.
cd "$(dirname "$0")/node-pcap"
if [ ! -f node_modules/pcap/build/Release/pcap_binding.node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
  if [ -f "$node_prefix/include/node/common.gypi" ]; then
    export npm_config_nodedir=$node_prefix
  fi
  npm ci --no-audit --no-fund
fi
