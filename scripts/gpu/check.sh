#!/usr/bin/env bash
# The GPU check, for a fresh GPU machine with PyTorch 2.x (CUDA) in python3 and no package
# registry: build attnlab against that PyTorch's LibTorch and the carried Debian packages, run
# the CUDA tests, benchmark training and attention on the GPU, run the PyTorch peer (eager and
# torch.compile) on the same model, batch and length, then write one results file and print a
# summary. Every step has a time limit (and the whole check a budget); a step that fails is
# recorded and the check goes on to the summary, then exits 1. docs/GPU.md, "The GPU check".
set -uo pipefail

usage() {
  cat <<'EOF'
usage: scripts/gpu/check.sh [options]

Builds attnlab with CUDA, runs its GPU tests, `attnlab bench train` (qwen3_134m, dense,
fixed_window, gated_window, T=4096, bf16) and `attnlab bench attention` (T=4096..32768, bf16)
on the GPU, and the PyTorch peer (benchmarks/peer/train_step.py, eager and compile) with the
same model, batch and length. Writes DIR/gpu_check.json (machine facts, each step's status and
seconds, the test results, every measured row) and DIR/gpu_check.log (every step's output),
and prints a summary table. Exit status: 0 when every step passed, 1 when one failed, 2 on bad
options.

options:
  --out DIR        where the results go (default: results/gpu_check)
  --build-dir DIR  the CUDA build (default: build-cuda); the Debian packages unpack into DIR/deps
  --debs DIR       the .deb files to unpack (default: scripts/gpu/debs, written by
                   scripts/gpu/fetch_debs.sh on a machine with the registry); a missing folder
                   means the system's libraries are used
  --skip-build     use the existing build in --build-dir (no unpacking, configuring, building)
  --quick          T = 4096 and 16384 for attention, 1 warm-up + 3 timed steps
  --budget SEC     wall-clock budget for all steps (default 530); a step gets at most what is
                   left, and one that cannot start is recorded as not run
  --dry-run        print every command it would run, then exit 0
  -h, --help       this text
EOF
}

die_usage() {
  echo "check.sh: $1; see scripts/gpu/check.sh --help" >&2
  exit 2
}

root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/results/gpu_check
build=$root/build-cuda
debs=$root/scripts/gpu/debs
skip_build=0 quick=0 dry_run=0 budget=530

absolute() { [[ $1 = /* ]] && echo "$1" || echo "$PWD/$1"; }
while (($#)); do
  case $1 in
    --out|--build-dir|--debs|--budget)
      (($# >= 2)) && [[ -n $2 ]] || die_usage "$1 needs a value"
      case $1 in
        --out) out=$(absolute "$2") ;;
        --build-dir) build=$(absolute "$2") ;;
        --debs) debs=$(absolute "$2") ;;
        --budget) [[ $2 =~ ^[0-9]+$ && $2 -gt 0 ]] || die_usage "--budget '$2' is not a number of seconds"
                  budget=$2 ;;
      esac
      shift 2 ;;
    --skip-build) skip_build=1; shift ;;
    --quick) quick=1; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die_usage "unknown option '$1'" ;;
  esac
done
cd "$root" || exit 2

# What is measured: the model, batch and length of the training rows (attnlab and the peer),
# and the attention lengths. --quick trims lengths and steps.
preset=qwen3_134m batch=4 seq=4096 variants=dense,fixed_window,gated_window
attention_seqs=4096,8192,16384,32768 warmup=2 steps=5
((quick)) && attention_seqs=4096,16384 warmup=1 steps=3
deps=$build/deps
attnlab=$build/attnlab
helpers=(python3 "$root/scripts/gpu/check_helpers.py")
summary_reserve=10
deadline=$((SECONDS + budget))

work=""
if ((!dry_run)); then
  mkdir -p "$out" || die_usage "cannot create --out $out"
  work=$(mktemp -d "${TMPDIR:-/tmp}/attnlab_gpu_check.XXXXXX") || exit 1
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/logs"
  : > "$work/steps.tsv"
  : > "$out/gpu_check.log"
  {
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host=$(hostname)"
    echo "commit=$(git -C "$root" rev-parse HEAD 2>/dev/null)$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
    echo "options=quick=$quick skip_build=$skip_build budget=$budget"
  } > "$work/facts.txt"
fi

record() {  # NAME STATUS SECONDS RC LIMIT NOTE COMMAND
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> "$work/steps.tsv"
  printf 'check.sh: %-16s %-8s %6s s  %s\n' "$1" "$2" "$3" "$6"
}

# The words of a command as a shell would read them back: plain words as they are, others in
# single quotes.
shown() {
  local word words=()
  for word in "$@"; do
    if [[ $word =~ ^[][A-Za-z0-9_./:=,+@%-]+$ ]]; then words+=("$word"); else words+=("'${word//\'/\'\\\'\'}'"); fi
  done
  echo "${words[*]}"
}

status_of() { awk -F'\t' -v n="$1" '$1 == n { s = $2 } END { print s }' "$work/steps.tsv"; }

# needs STEP: true when that step passed (or was skipped on request); else it is noted for
# not_run.
needs() {
  ((dry_run)) && return 0
  missing_need=$1
  [[ $(status_of "$1") == ok || $(status_of "$1") == skipped ]]
}

# step NAME CAP_S CMD...: runs CMD from the repository root within min(CAP_S, what is left of
# the budget), its output in logs/NAME.log and gpu_check.log, its status in steps.tsv.
step() {
  local name=$1 cap=$2 command
  shift 2
  command=$(shown "$@")
  if ((dry_run)); then
    printf '[%s] at most %s s\n  %s\n' "$name" "$cap" "$command"
    return 0
  fi
  local left=$((deadline - SECONDS - summary_reserve))
  local limit=$((cap < left ? cap : left))
  if ((limit <= 0)); then
    record "$name" not_run 0 "" "$cap" "the --budget of $budget s was spent" "$command"
    return 1
  fi
  local t0=$EPOCHREALTIME rc status=ok
  echo "check.sh: $name (at most $limit s): $command"
  timeout --kill-after=10 "$limit" "$@" > "$work/logs/$name.log" 2>&1
  rc=$?
  if ((rc == 124 || rc == 137)); then status=timeout; elif ((rc != 0)); then status=failed; fi
  { echo "=== $name: $status (exit $rc) ==="; echo "\$ $command"; cat "$work/logs/$name.log"; echo; } >> "$out/gpu_check.log"
  record "$name" "$status" "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')" \
    "$rc" "$limit" "$([[ $status == timeout ]] && echo "stopped after $limit s")" "$command"
  return "$rc"
}

# skip NAME NOTE: a step left out on request (not a failure).
skip() {
  if ((dry_run)); then printf '[%s] skipped: %s\n' "$1" "$2"; else record "$1" skipped 0 "" "" "$2" ""; fi
}

# not_run NAME: a step whose prerequisite failed (a failure).
not_run() { record "$1" not_run 0 "" "" "needs $missing_need, which did not pass" ""; }

fact() { sed -n "s/^$1=//p" "$work/logs/facts.log" 2>/dev/null | head -1; }

# The configure command: PyTorch's LibTorch, the GPU's architecture, and (when unpacked) the
# Debian packages' headers, libraries, CMake configs and pkg-config files. The binaries get
# DT_RPATH (not RUNPATH) to the packages' libraries, which also serves their own dependencies
# (ICU's data library), so nothing needs LD_LIBRARY_PATH.
configure_command() {
  local torch_prefix arch libdir=$deps/usr/lib/x86_64-linux-gnu rpath=-Wl,--disable-new-dtags
  if ((dry_run)); then
    torch_prefix='$TORCH_PREFIX' arch='$CUDA_ARCH'
    echo "  (TORCH_PREFIX: python3 -c 'import torch; print(torch.utils.cmake_prefix_path)';" \
         "CUDA_ARCH: the compute capability, e.g. 90 for H100/H200; both from the facts step)"
  else
    torch_prefix=$(fact torch_prefix)
    arch=$(fact compute_capability | tr -d .)
  fi
  configure=(cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DATTNLAB_CUDA=ON
    "-DCMAKE_CUDA_ARCHITECTURES=${arch:-80;90}" "-DCMAKE_CUDA_COMPILER=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)")
  if ((dry_run)) || [[ $(status_of unpack) == ok ]]; then
    configure=(env "PKG_CONFIG_LIBDIR=$libdir/pkgconfig:$deps/usr/share/pkgconfig" "PKG_CONFIG_SYSROOT_DIR=$deps"
      "${configure[@]}" "-DCMAKE_PREFIX_PATH=$torch_prefix;$deps/usr;$libdir/cmake" "-DCMAKE_LIBRARY_PATH=$libdir"
      "-DPKG_CONFIG_EXECUTABLE=$deps/pkg-config" "-DCMAKE_BUILD_RPATH=$libdir"
      "-DCMAKE_EXE_LINKER_FLAGS=$rpath" "-DCMAKE_SHARED_LINKER_FLAGS=$rpath" "-DCMAKE_MODULE_LINKER_FLAGS=$rpath")
  else
    configure+=("-DCMAKE_PREFIX_PATH=$torch_prefix")
  fi
  # The GPU training test trains on the FineWeb sample's shard in ../shared; a box without it
  # gets a shard of random tokens in its place (the test_data step writes it).
  if [[ ! -f $sample_shard ]]; then configure+=("-DATTNLAB_SHARED_DIR=$stand_in_shared"); fi
}

# Unpacks every .deb of $1 into the prefix $2 and writes $2/pkg-config: the packages' pkgconf,
# finding its own library there.
unpack_script='mkdir -p "$2" && for f in "$1"/*.deb; do dpkg -x "$f" "$2" || exit; done && printf "#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s \"\$@\"\n" "$2/usr/lib/x86_64-linux-gnu" "$2/usr/bin/pkgconf" > "$2/pkg-config" && chmod +x "$2/pkg-config"'

# The FineWeb sample's shard the training tests read (ATTNLAB_SHARED_DIR), and where a stand-in
# of random tokens goes on a box without ../shared.
sample_path=data/fineweb/reference/fineweb-sample-300.gpt2.bin
sample_shard=$root/../shared/$sample_path
stand_in_shared=${work:-\$WORK}/shared

# $1 check_helpers.py, $2 the shard, $3 attnlab, $4 the preset, $5 the config file written.
peer_config_script='python3 "$1" token-shard "$2" 200000 50257 && "$3" config show experiments/smoke.yaml attention=dense "model=$4" "data.train_files=[$2]" > "$5"'

build_steps() {
  if ((skip_build)); then
    skip unpack "--skip-build"
    skip configure "--skip-build"
    if [[ -x $attnlab ]] || ((dry_run)); then
      skip build "--skip-build"
    else
      record build failed 0 "" "" "--skip-build, but $attnlab does not exist: build it or drop --skip-build" ""
    fi
    return
  fi
  if compgen -G "$debs/*.deb" > /dev/null || ((dry_run)); then
    step unpack 60 bash -c "$unpack_script" unpack "$debs" "$deps"
  else
    skip unpack "no .deb files in $debs: using the system's libraries (scripts/gpu/fetch_debs.sh writes them)"
  fi
  configure_command
  if needs facts; then step configure 150 "${configure[@]}"; else not_run configure; fi
  local targets=(attnlab_cli attnlab_plugin_dense attnlab_plugin_fixed_window attnlab_plugin_gated_window)
  if ((dry_run)); then
    targets+=('$GPU_TEST_TARGETS')
    echo "  (GPU_TEST_TARGETS: ${helpers[*]} gpu-tests $build targets)"
  elif needs configure; then
    read -ra gpu_targets <<< "$("${helpers[@]}" gpu-tests "$build" targets)"
    targets+=("${gpu_targets[@]}")
  fi
  if needs configure; then
    step build 360 cmake --build "$build" -j "$(nproc)" --target "${targets[@]}"
  else
    not_run build
  fi
}

test_step() {
  local regex='$GPU_TESTS'
  if ! needs build; then not_run tests; return; fi
  if ((dry_run)); then
    echo "  (GPU_TESTS: ${helpers[*]} gpu-tests $build regex)"
  else
    regex=$("${helpers[@]}" gpu-tests "$build" regex)
  fi
  if [[ -z $regex ]]; then
    record tests failed 0 "" "" "no CUDA/GPU tests in $build: was it configured with CUDA?" ""
    return
  fi
  if [[ ! -f $sample_shard ]]; then
    step test_data 30 bash -c 'mkdir -p "$(dirname "$2")" && python3 "$1" token-shard "$2" 300000 50257' \
      test_data "$root/scripts/gpu/check_helpers.py" "$stand_in_shared/$sample_path"
  fi
  step tests 150 ctest --test-dir "$build" -R "$regex" -j 4 --output-on-failure --timeout 120 \
    --output-junit "${work:-\$WORK}/ctest.xml"
}

bench_steps() {
  local shard=${work:-\$WORK}/tokens.bin config=${work:-\$WORK}/peer.yaml db=${work:-\$WORK}/bench.db
  local measure=(--batch "$batch" --steps "$steps" --warmup "$warmup")
  if needs build; then
    # The peer trains the config attnlab composes; `config show` checks the run's data, so it
    # gets a shard of random tokens (this box need not have the FineWeb sample).
    step peer_config 60 bash -c "$peer_config_script" peer_config "$root/scripts/gpu/check_helpers.py" \
      "$shard" "$attnlab" "$preset" "$config"
    step bench_train 150 "$attnlab" bench train --device cuda --dtype bf16 --preset "$preset" \
      --plugins "$variants" --seq "$seq" "${measure[@]}" --db "$db" --peak-flops-cache "${work:-\$WORK}/peak_flops.json"
    step bench_attention 180 "$attnlab" bench attention --device cuda --dtype bf16 --plugins "$variants" \
      --seq "$attention_seqs" --heads 12 --kv-heads 4 --head-dim 64 --db "$db"
  else
    not_run peer_config
    not_run bench_train
    not_run bench_attention
  fi
  local mode
  for mode in eager compile; do
    if needs peer_config; then
      step "peer_$mode" "$([[ $mode == eager ]] && echo 90 || echo 210)" python3 benchmarks/peer/train_step.py \
        --config "$config" --device cuda --dtype bf16 --seq "$seq" "${measure[@]}" --mode "$mode"
    else
      not_run "peer_$mode"
    fi
  done
}

((dry_run)) && echo "check.sh --dry-run: the plan (out $out, build $build, debs $debs, budget $budget s)"
step facts 60 "${helpers[@]}" facts
build_steps
test_step
bench_steps
if ((dry_run)); then
  printf '[summary]\n  python3 %q $WORK %q\n' "$root/scripts/gpu/summarize.py" "$out/gpu_check.json"
  exit 0
fi
python3 "$root/scripts/gpu/summarize.py" "$work" "$out/gpu_check.json" | tee -a "$out/gpu_check.log"
exit "${PIPESTATUS[0]}"
