#!/usr/bin/env bash
# attnlab vs the PyTorch eager peer (train_step.py) on the `tiny` model on CPU: the same
# training step (B, T, threads, warm-up and timed steps), tokens/s of each and the ratio
# attnlab / PyTorch. (On a GPU, scripts/gpu/check.sh runs the peer against attnlab.)
# The two alternate for ROUNDS rounds per T and the best round of each counts (the box may
# be shared). Installs Debian's python3-torch when /usr/bin/python3 lacks torch
# (scripts/setup.sh installs it too).
#
# usage: benchmarks/peer/run.sh [SEQ_LENS=512,768] [BATCH=4] [THREADS=1] [STEPS=5] [ROUNDS=2]
#   ATTNLAB_BUILD_DIR (default build) holds the attnlab executable and its plugins/.
set -euo pipefail
cd "$(dirname "$0")/../.."
seqs=${1:-512,768}
batch=${2:-4}
threads=${3:-1}
steps=${4:-5}
rounds=${5:-2}
warmup=2
attnlab=${ATTNLAB_BUILD_DIR:-build}/attnlab
python=/usr/bin/python3

[[ -x $attnlab ]] || { echo "run.sh: $attnlab not found; build it (cmake --build build --target attnlab_cli) or set ATTNLAB_BUILD_DIR" >&2; exit 1; }
if ! $python -c 'import torch' 2>/dev/null; then
  echo "run.sh: $python has no torch; installing Debian's python3-torch (apt-get) for the peer ..." >&2
  apt-get install -y python3-torch >&2 || { echo "run.sh: apt-get install python3-torch failed; install it and re-run" >&2; exit 1; }
fi

tmp=$(mktemp -d)
db=$tmp/peer_bench.db
# The peer builds its model and optimizer from the config attnlab composes for the same run.
$attnlab config show experiments/smoke.yaml attention=dense > "$tmp/tiny.yaml"
best() { sort -g | tail -1; }
printf '%-6s %-4s %-8s %14s %14s %8s\n' T B threads attnlab_tok/s pytorch_tok/s ratio
for T in ${seqs//,/ }; do
  ours=() theirs=()
  for ((r = 0; r < rounds; ++r)); do
    # The bench table's 8th column is tokens/s; its rows start with the preset name.
    ours+=("$($attnlab bench train --preset tiny --plugins dense --seq "$T" --batch "$batch" \
      --threads "$threads" --steps "$steps" --warmup "$warmup" --db "$db" 2>/dev/null |
      awk '$1 == "tiny" { print $8 }')")
    # The peer prints one JSON line.
    theirs+=("$($python benchmarks/peer/train_step.py --config "$tmp/tiny.yaml" --seq "$T" --batch "$batch" \
      --threads "$threads" --steps "$steps" --warmup "$warmup" |
      $python -c 'import json, sys; print(json.load(sys.stdin)["tokens_per_s"])')")
  done
  a=$(printf '%s\n' "${ours[@]}" | best)
  p=$(printf '%s\n' "${theirs[@]}" | best)
  [[ -n $a && -n $p ]] || { echo "run.sh: a run at T=$T printed no tokens/s (attnlab: '${ours[*]}', peer: '${theirs[*]}')" >&2; exit 1; }
  printf '%-6s %-4s %-8s %14.0f %14.0f %7.2fx\n' "$T" "$batch" "$threads" "$a" "$p" \
    "$(echo "$a / $p" | bc -l)"
  echo "  rounds: attnlab ${ours[*]} / pytorch ${theirs[*]}" >&2
done
