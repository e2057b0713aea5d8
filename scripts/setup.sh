#!/usr/bin/env bash
# Makes a fresh Debian machine ready to build, demo and test netring, then builds it:
# system packages (as root, with apt-get), npm packages from the lockfile, the native
# module (release profile) and the TypeScript. Safe to run again: it skips what is there.
set -euo pipefail
# shellcheck source=apt-install.sh
source "$(dirname "$0")/apt-install.sh"
cd "$(dirname "$0")/.."

packages=()
command -v ip >/dev/null || packages+=(iproute2)   # namespaces and veth pairs for tests and demo
command -v setpriv >/dev/null || packages+=(util-linux)   # the CAP_NET_RAW test drops privileges
command -v cc >/dev/null || packages+=(gcc libc6-dev)   # the linker cargo calls
dpkg -s libpcap0.8 >/dev/null 2>&1 || packages+=(libpcap0.8)   # string filters' tests: libpcap is loaded at run time, never linked
command -v xz >/dev/null || packages+=(xz-utils)   # unpacks the glibc 2.17 toolchain the build links with
command -v readelf >/dev/null || packages+=(binutils)   # the package test reads the .node's GLIBC_ versions
command -v tcpdump >/dev/null || packages+=(tcpdump)   # the pcapfile and CLI tests read and write files with tcpdump -r
command -v tshark >/dev/null || packages+=(tshark)   # the dissector's oracle: tshark reads the same bytes, field by field
command -v ping >/dev/null || packages+=(iputils-ping)   # the decode oracle makes ICMP traffic with the kernel's ping (record route, fragments, -6)
apt_install "netring setup" "${packages[@]}"

if ! command -v cargo >/dev/null; then
  echo "netring setup: building from source needs Rust (cargo); see https://rustup.rs" >&2
  exit 1
fi

# npm ci only when the lockfile changed since the last install.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

npm run --silent build
