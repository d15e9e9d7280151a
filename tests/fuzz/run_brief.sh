#!/bin/sh
# Usage: run_brief.sh SECONDS: every fuzz target for SECONDS (CTest fuzz_brief; libFuzzer seed
# fixed so a failure reproduces). The targets live in build-fuzz/, built by
# `scripts/setup.sh --tests`. Without that build: under CI (CI set and non-empty) a failure,
# elsewhere a visible skip (exit 77, CTest "Skipped").
root=$(cd "$(dirname "$0")/../.." && pwd)
if [ ! -f "$root/build-fuzz/CMakeCache.txt" ]; then
  if [ -n "${CI:-}" ]; then
    echo "build-fuzz/ is missing but CI is set: failing (scripts/setup.sh --tests builds it)" >&2
    exit 1
  fi
  echo "build-fuzz/ is missing: skipped (scripts/setup.sh --tests builds it)" >&2
  exit 77
fi
ATTNLAB_FUZZ_FLAGS="-seed=1 ${ATTNLAB_FUZZ_FLAGS:-}" exec bash "$root/scripts/fuzz.sh" "$1"
