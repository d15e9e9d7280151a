#!/usr/bin/env bash
# stress_resume.sh [N]: N (default 20) random kill/resume trials of a small training run.
# Each trial SIGKILLs `attnlab train` 1-4 times at random moments (after a random step's
# progress line plus a random delay of 0-400 ms, so kills also land mid-step and
# mid-checkpoint), re-runs the same command until it finishes, and compares the final
# checkpoint (every tensor, with test_train's checkpoint comparer: the archive bytes embed
# parameter addresses, the tensors do not) and every metric and eval value in the store but the
# timing-derived ones and fields (`attnlab report --timing-metrics`) with an uninterrupted run.
# Prints "K of N identical"; exits non-zero unless K == N. CTest runs 3 trials (stress_resume).
#   scripts/stress_resume.sh 20
#   ATTNLAB_BUILD_DIR=build-ckpt STRESS_VARIANT=dense STRESS_STEPS=16 scripts/stress_resume.sh 5
set -euo pipefail
cd "$(dirname "$0")/.."

n_trials=${1:-20}
[[ $n_trials =~ ^[1-9][0-9]*$ ]] || { echo "stress_resume.sh: N must be a positive integer, got '$n_trials'" >&2; exit 2; }
build=${ATTNLAB_BUILD_DIR:-build}
exe=$build/attnlab
compare=$build/test_train
for f in "$exe" "$compare"; do
  [[ -x $f ]] || { echo "stress_resume.sh: $f not found; build it first (cmake --build $build --target test_train, which builds the CLI and plugins; configure with -DATTNLAB_BUILD_TESTS=ON) or set ATTNLAB_BUILD_DIR" >&2; exit 2; }
done
command -v sqlite3 >/dev/null || { echo "stress_resume.sh: needs the sqlite3 command (apt-get install sqlite3)" >&2; exit 2; }
export ATTNLAB_SHARED=${ATTNLAB_SHARED:-$(cd .. && pwd)/shared}
export ATTNLAB_PLUGIN_DIR=${ATTNLAB_PLUGIN_DIR:-$(cd "$build" && pwd)/plugins}
steps=${STRESS_STEPS:-16}
variant=${STRESS_VARIANT:-gated_window}
work=$(mktemp -d "${TMPDIR:-/tmp}/attnlab_stress.XXXXXX")
trap 'rm -rf "$work"' EXIT

# train EXTRA_ARGS...: the run every trial repeats; --db and checkpoint_every come from the caller.
train_args=(train experiments/smoke.yaml "attention=$variant" "train.steps=$steps" train.seq_len=64
            train.batch_size=2 train.eval_every=4 train.log_every=1 data.val_tokens=512
            train.threads=1 model.d_model=32 model.head_dim=8 model.ffn_hidden=64 model.n_layer=2)
final_name=$(printf 'step_%010d.ckpt' "$steps")
ckpt_dir() {  # `train` names its one run by its overrides: read the name from the store
  local name=""
  [[ -f $1/x.db ]] && name=$(sqlite3 "$1/x.db" "select name from runs" 2>/dev/null || true)
  echo "$1/runs/x/smoke/$name/checkpoints"
}
timing=$("$exe" report --timing-metrics) || { echo "stress_resume.sh: $exe report --timing-metrics failed" >&2; exit 2; }
timing_sql="''" eval_value=value_json
for t in $timing; do  # NAME, or EVAL:FIELD (a field of that eval's JSON value)
  if [[ $t == *:* ]]; then
    eval_value="CASE WHEN name = '${t%%:*}' THEN json_remove($eval_value, '\$.${t#*:}') ELSE $eval_value END"
  else
    timing_sql+=",'$t'"
  fi
done
metrics_of() {  # every metric and eval value but the timing-derived ones, one line each
  sqlite3 "$1" "select name, step, printf('%.17g', value) from metrics
                where name not in ($timing_sql) order by name, step"
  sqlite3 "$1" "select 'eval', name, step, $eval_value from evals order by name, step"
  sqlite3 "$1" "select 'status', status from runs"
}
newest_step() {  # the newest checkpoint's step in a directory, 0 without one
  local last
  last=$(ls "$1" 2>/dev/null | grep -E '^step_[0-9]+\.ckpt$' | sort | tail -n 1 || true)
  [[ -n $last ]] && echo $((10#${last:5:10})) || echo 0
}

echo "reference: $steps uninterrupted steps of attention=$variant"
mkdir -p "$work/ref"
"$exe" "${train_args[@]}" train.checkpoint_every=1 --db "$work/ref/x.db" >"$work/ref.log" 2>&1 ||
  { cat "$work/ref.log"; echo "stress_resume.sh: the reference run failed" >&2; exit 1; }
metrics_of "$work/ref/x.db" >"$work/ref.metrics"

identical=0
for ((trial = 1; trial <= n_trials; ++trial)); do
  dir=$work/t$trial
  mkdir -p "$dir"
  every=$((1 + RANDOM % 3))  # checkpoint_every does not change results
  kills=$((1 + RANDOM % 4))
  log=$dir.log
  done_kills=0
  while true; do
    "$exe" "${train_args[@]}" "train.checkpoint_every=$every" --db "$dir/x.db" >"$log" 2>&1 &
    pid=$!
    from=$(newest_step "$(ckpt_dir "$dir")")
    if ((done_kills < kills && from < steps)); then  # from == steps: killed after its last checkpoint
      target=$((from + 1 + RANDOM % (steps - from)))  # a step this process will reach
      until grep -q "\] step $target/$steps | loss" "$log" 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
      done
      sleep "0.$(printf '%03d' $((RANDOM % 400)))"
      if kill -9 "$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null || true
        done_kills=$((done_kills + 1))
        continue
      fi
    fi
    rc=0
    wait "$pid" || rc=$?
    ((rc == 0)) && break
    echo "trial $trial: attnlab exited with $rc:"; tail -n 5 "$log"
    break
  done
  verdict="identical"
  if [[ ! -f "$(ckpt_dir "$dir")/$final_name" ]]; then
    verdict="differs: no final checkpoint $final_name"
  elif ! ATTNLAB_CKPT_A="$(ckpt_dir "$work/ref")/$final_name" ATTNLAB_CKPT_B="$(ckpt_dir "$dir")/$final_name" \
         "$compare" '[.compare]' >"$dir.compare" 2>&1; then
    verdict="differs: checkpoint tensors: $(grep -m 3 -iE 'differ|mismatch|fail' "$dir.compare" | tr '\n' ' ')"
  elif ! metrics_of "$dir/x.db" | diff "$work/ref.metrics" - >"$dir.diff"; then
    verdict="differs: metrics (reference < > resumed): $(head -n 4 "$dir.diff" | tr '\n' ' ')"
  fi
  [[ $verdict == identical ]] && identical=$((identical + 1))
  echo "trial $trial: $done_kills kills, checkpoint_every=$every: $verdict"
done
echo "$identical of $n_trials identical"
((identical == n_trials))
