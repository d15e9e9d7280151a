#!/usr/bin/env python3
"""scripts/gpu/check.sh without a GPU: --help, bad options (exit 2), the --dry-run plan (every
build, test, bench and peer command, nothing written), and whole runs against a stand-in build
(a fake attnlab and a one-test CTest folder): one in which steps fail (the results file, the
log, the summary, exit status 1), one without attnlab (the steps that need it are not run), one
whose --budget is spent before any step."""
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECK = os.path.join(ROOT, "scripts", "gpu", "check.sh")

# What the fake attnlab prints: config show, and bench train's table in its CUDA form;
# bench attention fails.
FAKE_ATTNLAB = textwrap.dedent("""\
    #!/bin/sh
    echo "$@" >> "$(dirname "$0")/calls.txt"
    case "$1 $2" in
      "config show") printf 'model:\\n  name: qwen3_134m\\ntrain:\\n  lr: 0.003\\n' ;;
      "bench train") cat <<'EOF'
    peak FLOP/s: 9.894e+14 (the datasheet dense bf16 peak of NVIDIA H200)
    measuring bench train qwen3_134m/dense T=4096 B=4 (2 warm-up + 5 timed steps, 16 threads, on cuda:0 (NVIDIA H200), bf16) ...
    train bench: full steps (fwd+bwd+clip+AdamW), bf16 autocast (fp32 master weights) on cuda:0 (NVIDIA H200), random tokens, median of 5 steps after 2 warm-up; peak = the CUDA allocator's high-water mark of live tensors after warm-up (reserved: of the memory it held), a fresh process per row

    preset      variant             T   B threads  params M    step ms   tokens/s  peak MiB  GFLOP/s   MFU %  reserved MiB
    qwen3_134m  dense            4096   4      16   133.641      150.2     109085     30112 121234.5    12.3         36000
    qwen3_134m  fixed_window     4096   4      16   133.641      120.0     136533     28001 101234.5    10.2         34000
    qwen3_134m  gated_window     4096   4      16   133.678      130.5     125547     29050  99234.5    10.0         35000
    rows added to /tmp/x/bench.db (bench_train)
    EOF
      ;;
      *) echo "attnlab bench: error: the stand-in fails here" >&2; exit 1 ;;
    esac
    """)


def run(*args, **kwargs):
    return subprocess.run(["bash", CHECK, *args], capture_output=True, text=True, timeout=100, **kwargs)


class Options(unittest.TestCase):
    def test_help(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        for word in ("usage: scripts/gpu/check.sh", "--out DIR", "--build-dir DIR", "--debs DIR",
                     "--skip-build", "--quick", "--dry-run", "--budget", "gpu_check.json"):
            self.assertIn(word, r.stdout)

    def test_bad_options_exit_2_naming_them(self):
        for args, message in ((["--bogus"], "unknown option '--bogus'"), (["stray"], "unknown option 'stray'"),
                              (["--out"], "--out needs a value"), (["--budget", "soon"], "--budget 'soon'")):
            r = run(*args)
            self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
            self.assertIn(message, r.stderr)
            self.assertIn("--help", r.stderr)


class DryRun(unittest.TestCase):
    def test_prints_every_command_and_writes_nothing(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "out")
            r = run("--dry-run", "--out", out, "--build-dir", os.path.join(tmp, "b"))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertFalse(os.path.exists(out))
            self.assertFalse(os.path.exists(os.path.join(tmp, "b")))
        plan = r.stdout
        for expected in ("check_helpers.py facts", "dpkg -x", "cmake -S " + ROOT, "-G Ninja", "-DATTNLAB_CUDA=ON",
                         "-DCMAKE_CUDA_ARCHITECTURES=", "cmake --build", "--target attnlab_cli",
                         "attnlab_plugin_gated_window", "ctest --test-dir", "--output-junit",
                         "token-shard", "config show experiments/smoke.yaml attention=dense",
                         "bench train --device cuda --dtype bf16 --preset qwen3_134m "
                         "--plugins dense,fixed_window,gated_window --seq 4096 --batch 4 --steps 5 --warmup 2",
                         "bench attention --device cuda --dtype bf16 --plugins dense,fixed_window,gated_window "
                         "--seq 4096,8192,16384,32768",
                         "train_step.py --config", "--seq 4096 --batch 4 --steps 5 --warmup 2 --mode eager",
                         "--mode compile", "summarize.py"):
            self.assertIn(expected, plan)

    def test_quick_and_skip_build(self):
        r = run("--dry-run", "--quick", "--skip-build")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("--seq 4096,16384", r.stdout)
        self.assertIn("--steps 3 --warmup 1", r.stdout)
        self.assertIn("[build] skipped", r.stdout)
        self.assertNotIn("cmake -S", r.stdout)


class StandInRun(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.build = os.path.join(self.tmp.name, "build")
        self.out = os.path.join(self.tmp.name, "out")
        os.makedirs(self.build)
        attnlab = os.path.join(self.build, "attnlab")
        with open(attnlab, "w") as f:
            f.write(FAKE_ATTNLAB)
        os.chmod(attnlab, 0o755)
        with open(os.path.join(self.build, "CTestTestfile.cmake"), "w") as f:
            f.write('add_test([=[cuda_standin]=] "/bin/true")\n')

    def tearDown(self):
        self.tmp.cleanup()

    def check(self, *extra):
        r = run("--skip-build", "--build-dir", self.build, "--out", self.out, *extra)
        with open(os.path.join(self.out, "gpu_check.json")) as f:
            return r, json.load(f)

    def test_a_failed_step_is_recorded_and_the_check_goes_on(self):
        r, results = self.check()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        status = {s["name"]: s["status"] for s in results["steps"]}
        self.assertEqual(status, {"facts": "ok", "unpack": "skipped", "configure": "skipped", "build": "skipped",
                                  "tests": "ok", "peer_config": "ok", "bench_train": "ok",
                                  "bench_attention": "failed", "peer_eager": "failed", "peer_compile": "failed"})
        self.assertFalse(results["ok"])
        self.assertEqual(results["tests"], [{"name": "cuda_standin", "status": "passed",
                                             "seconds": results["tests"][0]["seconds"]}])
        self.assertEqual([row["variant"] for row in results["bench_train"]], ["dense", "fixed_window", "gated_window"])
        self.assertEqual(results["bench_train"][0]["reserved_mib"], 36000)
        failed = next(s for s in results["steps"] if s["name"] == "bench_attention")
        self.assertIn("the stand-in fails here", failed["log_tail"])
        self.assertIn("date", results["machine"])
        self.assertIn("cores", results["machine"])
        with open(os.path.join(self.out, "gpu_check.log")) as f:
            self.assertIn("=== bench_attention: failed (exit 1) ===", f.read())
        with open(os.path.join(self.build, "calls.txt")) as f:
            calls = f.read()
        self.assertIn("config show experiments/smoke.yaml attention=dense model=qwen3_134m data.train_files=[", calls)
        self.assertIn("bench train --device cuda --dtype bf16 --preset qwen3_134m", calls)
        self.assertIn("attnlab dense", r.stdout)  # the summary table
        self.assertIn("FAILED", r.stdout)
        self.assertEqual(sorted(os.listdir(self.out)), ["gpu_check.json", "gpu_check.log"])

    def test_without_a_build_the_steps_that_need_it_are_not_run(self):
        os.remove(os.path.join(self.build, "attnlab"))
        r, results = self.check()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        status = {s["name"]: (s["status"], s["note"]) for s in results["steps"]}
        self.assertEqual(status["build"][0], "failed")
        self.assertIn("does not exist: build it or drop --skip-build", status["build"][1])
        for name in ("tests", "peer_config", "bench_train", "bench_attention"):
            self.assertEqual(status[name], ("not_run", "needs build, which did not pass"))
        for name in ("peer_eager", "peer_compile"):
            self.assertEqual(status[name], ("not_run", "needs peer_config, which did not pass"))

    def test_a_spent_budget_runs_nothing(self):
        r, results = self.check("--budget", "5")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        for s in results["steps"]:
            self.assertIn(s["status"], ("not_run", "skipped"), s)
        facts = next(s for s in results["steps"] if s["name"] == "facts")
        self.assertEqual(facts["note"], "the --budget of 5 s was spent")


if __name__ == "__main__":
    unittest.main(verbosity=2)
