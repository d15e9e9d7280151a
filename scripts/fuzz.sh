#!/usr/bin/env bash
# Runs every libFuzzer target of tests/fuzz for SECONDS each (default 60) and prints, per
# target, the executions, the coverage (libFuzzer's cov: edges and ft: features) and whether
# it crashed; exits 1 when any target crashed (docs/RELIABILITY.md "Fuzzing").
#   scripts/fuzz.sh [SECONDS]
# Configures and builds build-fuzz/ (clang; preset `fuzz`) when needed. Each target fuzzes a
# work corpus under build-fuzz/fuzz-work/<target>/ seeded from tests/fuzz/corpus/<target>/
# (never written); crashing inputs land in build-fuzz/fuzz-work/<target>/artifacts/.
# Environment: ATTNLAB_FUZZ_TARGETS="shard tokenizer" (a subset), ATTNLAB_FUZZ_FLAGS (more
# libFuzzer flags, e.g. -detect_leaks=0), ATTNLAB_SHARED (tokenizers; default ../shared),
# ATTNLAB_BUILD_LOCK (a file to flock while compiling), ATTNLAB_FUZZ_JOBS (build jobs, 2).
set -euo pipefail
seconds=${1:-60}
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { echo "usage: $0 [SECONDS > 0]" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-fuzz
read -ra targets <<< "${ATTNLAB_FUZZ_TARGETS:-config_compose override_parser tokenizer shard documents checkpoint_header safetensors_header}"
read -ra extra_flags <<< "${ATTNLAB_FUZZ_FLAGS:-}"

locked() {
  if [[ -n ${ATTNLAB_BUILD_LOCK:-} ]]; then flock "$ATTNLAB_BUILD_LOCK" "$@"; else "$@"; fi
}
command -v clang++ >/dev/null || { echo "clang++ not found: apt-get install -y clang" >&2; exit 2; }
cd "$root"
[[ -f $build/CMakeCache.txt ]] || cmake --preset fuzz >/dev/null
locked cmake --build "$build" -j "${ATTNLAB_FUZZ_JOBS:-2}" \
  --target "${targets[@]/#/fuzz_}" > "$build/fuzz-build.log" 2>&1 ||
  { tail -30 "$build/fuzz-build.log" >&2; echo "fuzz build failed: $build/fuzz-build.log" >&2; exit 2; }

# The last value of a libFuzzer statistic ("cov:", "ft:") in a log, or "-".
last_stat() { grep -o "$1 [0-9]*" "$2" | tail -1 | awk '{print $2}' || true; }

crashed=0
printf '%-18s %12s %8s %8s  %s\n' target executions cov ft result
for t in "${targets[@]}"; do
  work=$build/fuzz-work/$t
  mkdir -p "$work/corpus" "$work/artifacts"
  cp -r "$root/tests/fuzz/corpus/$t/." "$work/corpus/"
  rc=0
  "$build/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "${extra_flags[@]}" "$work/corpus" > "$work/last.log" 2>&1 || rc=$?
  execs=$(grep -o 'number_of_executed_units: [0-9]*' "$work/last.log" | awk '{print $2}')
  result=ok
  if [[ $rc -ne 0 ]]; then
    crashed=1
    unit=$(grep -o 'Test unit written to .*' "$work/last.log" | sed 's/Test unit written to //' || true)
    result="CRASH (rc $rc) ${unit:-no input saved}; log $work/last.log"
  fi
  printf '%-18s %12s %8s %8s  %s\n' "$t" "${execs:--}" "$(last_stat cov: "$work/last.log")" \
    "$(last_stat ft: "$work/last.log")" "$result"
done
exit $crashed
