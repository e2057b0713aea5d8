# Sourced by scripts/setup.sh and benchmark/setup.sh.
# apt_install WHO PACKAGE…: installs the packages with apt-get (root only; otherwise says
# what to install and exits 1). Does nothing when the list is empty.
apt_install() {
  local who=$1
  shift
  (($#)) || return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "$who: install $* (needs root: sudo apt-get install $*)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
