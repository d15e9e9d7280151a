#!/usr/bin/env bash
# Tokenizer throughput, attnlab vs the gpt-tokenizer npm package (OpenAI's GPT-2 r50k_base
# encoding in JavaScript), one thread each, on the same FineWeb sample; prints both and the
# ratio. Each side runs ROUNDS times, alternating, and its best round counts (the machine is
# shared, so the best round is the least disturbed). Run from the repository root:
#   benchmarks/tokenizer/run.sh [PASSES] [ROUNDS]     (defaults 5 and 3)
#   ATTNLAB_BUILD_DIR  build folder configured for this repo (default: build)
#   ATTNLAB_SHARED     the shared data folder (default: ../shared)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${ATTNLAB_BUILD_DIR:-$root/build}
shared=${ATTNLAB_SHARED:-$root/../shared}
passes=${1:-5}
rounds=${2:-3}
docs=$shared/data/fineweb/fineweb-sample-300.jsonl

[ -d "$here/node_modules/gpt-tokenizer" ] || (cd "$here" && npm install --no-audit --no-fund --silent)
cmake --build "$build" -j2 --target attnlab_bench_tokenizer >/dev/null
bench=$(find "$build" -name attnlab_bench_tokenizer -type f -perm -u+x | head -1)

field() { echo "$1" | awk -v k="$2" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}'; }
best() {  # the line with the highest steady MB/s
  local best_line="" line
  while read -r line; do
    if [ -z "$best_line" ] || awk -v a="$(field "$line" MB/s)" -v b="$(field "$best_line" MB/s)" 'BEGIN { exit !(a > b) }'; then
      best_line=$line
    fi
  done
  echo "$best_line"
}
ours_all="" peer_all=""
for _ in $(seq "$rounds"); do
  ours_all+=$(taskset -c 0 "$bench" "$docs" gpt2 "$shared/tokenizers" "$passes")$'\n'
  peer_all+=$(cd "$here" && taskset -c 0 node bench_gpt_tokenizer.mjs "$docs" "$passes")$'\n'
done
ours=$(printf '%s' "$ours_all" | best)
peer=$(printf '%s' "$peer_all" | best)
echo "$ours"
echo "$peer"
[ "$(field "$ours" tokens)" = "$(field "$peer" tokens)" ] ||
  { echo "token counts differ: the encoders disagree" >&2; exit 1; }
awk -v a="$(field "$ours" MB/s)" -v b="$(field "$peer" MB/s)" \
  'BEGIN { printf "ratio attnlab / gpt-tokenizer (steady MB/s): %.2fx\n", a / b }'
