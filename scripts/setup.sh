#!/usr/bin/env bash
# Installs attnlab's system dependencies (Debian bookworm packages; skips what is installed)
# and builds it into build/ (RelWithDebInfo). Safe to run again: it only does what is missing.
#   scripts/setup.sh            # install + configure + build
#   scripts/setup.sh --tests    # also what the suite needs: clang + fuzz targets (build-fuzz/), Slurm
#   ATTNLAB_BUILD_DIR=out scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
with_tests=0
for arg in "$@"; do
  case $arg in
    --tests) with_tests=1 ;;
    *) echo "setup.sh: unknown argument '$arg' (usage: scripts/setup.sh [--tests])" >&2; exit 2 ;;
  esac
done

packages=(
  build-essential cmake git pkg-config
  libtorch-dev            # LibTorch 1.13 (CPU)
  libopenblas0-openmp     # fast BLAS for LibTorch's CPU matmuls (reference BLAS is ~25x slower)
  libgloo-dev             # headers of c10d's Gloo backend (CPU distributed training)
  libyaml-cpp-dev libsqlite3-dev libboost-program-options-dev nlohmann-json3-dev
  sqlite3                 # scripts/stress_resume.sh reads the store (CTest stress_resume)
  libpcre2-dev libicu-dev zlib1g-dev libzstd-dev
  catch2
  gnuplot-nox             # report figures (PNG/PDF)
  texlive-latex-base texlive-latex-recommended  # pdflatex + booktabs: tests compile tables.tex
  python3-torch python3-yaml  # the PyTorch peer (benchmarks/peer) and its CPU test (peer_cpu)
)
# --tests: clang (libFuzzer + sanitizers for the fuzz targets) and a one-node Slurm cluster on
# loopback for CTest dist_slurm (scripts/slurm/local_cluster.sh; no daemon is left running).
[ $with_tests -eq 0 ] || packages+=(clang slurmctld slurmd slurm-client munge)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build_dir=${ATTNLAB_BUILD_DIR:-build}
jobs=$(nproc)
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
echo "setup: building in $build_dir with $jobs jobs (first build takes a few minutes)"
cmake --build "$build_dir" -j "$jobs"
if [ $with_tests -eq 1 ]; then  # CTest fuzz_brief runs them (tests/fuzz/run_brief.sh)
  [ -f build-fuzz/CMakeCache.txt ] || cmake --preset fuzz >/dev/null
  echo "setup: building the fuzz targets in build-fuzz (clang)"
  cmake --build build-fuzz -j "$jobs"
fi
echo "setup: done; the CLI is $build_dir/attnlab"
