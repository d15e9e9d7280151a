#!/usr/bin/env bash
# Downloads the Debian 12 (bookworm) packages attnlab builds against into a folder (default
# scripts/gpu/debs/, git-ignored), on a machine that has the package registry, so that
# scripts/gpu/check.sh can unpack them (dpkg -x, no root) on a GPU box without one. The list is
# docs/GPU.md's ("System libraries on a GPU box without a package registry"), plus the runtime
# libraries of libzstd-dev and zlib1g-dev (their .so links point into them) and pkgconf (the
# pkg-config CMake needs, in case the box has none).
#
# usage: scripts/gpu/fetch_debs.sh [DIR]
set -euo pipefail

packages=(
  libyaml-cpp-dev libyaml-cpp0.7
  libsqlite3-dev libsqlite3-0
  libboost-program-options1.74-dev libboost-program-options1.74.0 libboost1.74-dev
  nlohmann-json3-dev
  libpcre2-dev libpcre2-8-0
  libicu-dev libicu72
  catch2
  libzstd-dev libzstd1 zlib1g-dev zlib1g
  libgloo-dev
  libcpp-httplib-dev libcpp-httplib0.11 libssl-dev libssl3 libbrotli-dev libbrotli1
  pkgconf pkgconf-bin libpkgconf3
)

case ${1:-} in
  -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  -*) echo "fetch_debs.sh: unknown option '$1'; usage: scripts/gpu/fetch_debs.sh [DIR]" >&2; exit 2 ;;
esac
[[ $# -le 1 ]] || { echo "fetch_debs.sh: one folder at most, got $#; usage: scripts/gpu/fetch_debs.sh [DIR]" >&2; exit 2; }
dir=${1:-$(dirname "$0")/debs}
command -v apt-get >/dev/null || { echo "fetch_debs.sh: needs apt-get (a Debian 12 machine with the package registry)" >&2; exit 1; }
mkdir -p "$dir"
cd "$dir"
# apt-get download writes into the current folder; _apt must be able to write there too.
if ! apt-get download "${packages[@]}"; then
  echo "fetch_debs.sh: apt-get download failed; run 'apt-get update' (as root) and retry, on Debian 12 (bookworm): the names are bookworm's" >&2
  exit 1
fi
echo "fetch_debs.sh: $(ls ./*.deb | wc -l) packages, $(du -sh . | cut -f1), in $(pwd)"
