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
  libcpp-httplib-dev      # `attnlab serve`: HTTP server
  openssl                 # checks the integrity of uPlot's npm tarball (below)
)
# npm fetches uPlot (below); a Node.js that brings its own npm (e.g. nodesource's, which
# conflicts with Debian's npm package) is used as it is.
command -v npm >/dev/null || packages+=(npm)
# --tests: clang (libFuzzer + sanitizers for the fuzz targets) and a one-node Slurm cluster on
# loopback for CTest dist_slurm (scripts/slurm/local_cluster.sh; no daemon is left running).
[ $with_tests -eq 0 ] || packages+=(clang slurmctld slurmd slurm-client munge)
# --tests: headless Chromium and its WebDriver for CTest serve_browser (tests/serve).
[ $with_tests -eq 0 ] || packages+=(chromium chromium-driver)
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

# uPlot (MIT), the chart library `attnlab serve` embeds (serve/README.md): npm's tarball,
# integrity-checked, unpacked into build-deps/ (git ignores it); serving needs no network.
uplot_version=1.6.32
uplot_integrity=sha512-KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw==
uplot_dir=build-deps/uplot-$uplot_version
if [ ! -f "$uplot_dir/uPlot.iife.min.js" ] || [ ! -f "$uplot_dir/uPlot.min.css" ]; then
  echo "setup: fetching uPlot $uplot_version (npm pack) into $uplot_dir"
  mkdir -p build-deps/npm "$uplot_dir"
  packed=$(cd build-deps/npm && npm pack --silent "uplot@$uplot_version" | tail -1) || {
    echo "setup: 'npm pack uplot@$uplot_version' failed (it needs the npm registry); or put" \
         "uPlot's dist/uPlot.iife.min.js and dist/uPlot.min.css into $uplot_dir yourself" >&2
    exit 1
  }
  tarball=build-deps/npm/$packed
  actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
  if [ "$actual" != "$uplot_integrity" ]; then
    echo "setup: $tarball has integrity $actual, expected $uplot_integrity; delete it and retry" >&2
    exit 1
  fi
  tar -xzf "$tarball" -C "$uplot_dir" --strip-components=2 package/dist/uPlot.iife.min.js \
    package/dist/uPlot.min.css
  tar -xzf "$tarball" -C "$uplot_dir" --strip-components=1 package/LICENSE
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
