#!/usr/bin/env python3
"""scripts/gpu/summarize.py: the results file and summary from a work folder of sample step
outputs (CUDA-form bench tables, peer JSON lines including an unavailable mode, a real CTest
JUnit report with a failed and a skipped test, a failed step), its exit status (1 when a step
failed, 0 when none did, 2 on bad arguments), and its parsing of real `attnlab bench train` /
`bench attention` output from this build.

usage: test_summarize.py ATTNLAB_EXECUTABLE
"""
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUMMARIZE = os.path.join(ROOT, "scripts", "gpu", "summarize.py")
ATTNLAB = None  # set from the command line

TRAIN_LOG = textwrap.dedent("""\
    train bench: full steps (fwd+bwd+clip+AdamW), bf16 autocast (fp32 master weights) on cuda:0 (NVIDIA H200), ...

    preset      variant             T   B threads  params M    step ms   tokens/s  peak MiB  GFLOP/s   MFU %  reserved MiB
    measuring bench train qwen3_134m/fixed_window T=4096 B=4 (2 warm-up + 5 timed steps, 16 threads) ...
    qwen3_134m  dense            4096   4      16   133.641      150.2     109085     30112 121234.5    12.3         36000
    rows added to /tmp/x/bench.db (bench_train)
    """)
ATTENTION_LOG = textwrap.dedent("""\
    attention bench: B=1 H=12 K=4 D=64 dtype=bf16 repeats=3 threads=16 device=cuda:0 (NVIDIA H200)
    peak = the CUDA allocator's high-water mark of live tensors ...

    plugin              T     fwd ms   GFLOP/s  extra MiB   fwd+bwd ms   GFLOP/s  extra MiB   peak MiB  reserved MiB  backend
    measuring dense T=4096 ...
    dense            4096      0.101  255123.4       12.0        0.456  198765.4       48.0      120.0         160.0  flash (sdpa), dense
    gated_window    32768      1.234   98765.4       96.0        4.567   87654.3      384.0      960.0        1024.0  attnlab cuda kernel, window 256
    """)
PEER_EAGER = json.dumps({"peer": "pytorch", "mode": "eager", "preset": "qwen3_134m", "seq": 4096, "batch": 4,
                         "tokens_per_s": 100000.0, "step_ms": 163.8, "mfu": 0.11, "peak_allocated_mib": 41000.0,
                         "peak_rss_mib": 2000.0})
PEER_COMPILE = json.dumps({"peer": "pytorch", "mode": "compile", "seq": 4096, "batch": 4,
                           "unavailable": "torch 1.13.0 has no torch.compile (PyTorch 2.0 or newer)"})


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def junit_report(work):
    """A real ctest --output-junit report: one test passes, one fails, one is skipped (77)."""
    tests = os.path.join(work, "ctest_dir")
    write(os.path.join(tests, "CTestTestfile.cmake"), textwrap.dedent("""\
        add_test([=[cuda_kernels]=] "/bin/true")
        add_test([=[train_gpu]=] "/bin/false")
        add_test([=[cuda_skipped]=] "/bin/sh" "-c" "exit 77")
        set_tests_properties([=[cuda_skipped]=] PROPERTIES SKIP_RETURN_CODE "77")
        """))
    subprocess.run(["ctest", "--test-dir", tests, "--output-junit", os.path.join(work, "ctest.xml")],
                   capture_output=True, timeout=60)


def summarize(work):
    out = os.path.join(work, "results", "gpu_check.json")
    r = subprocess.run([sys.executable, SUMMARIZE, work, out], capture_output=True, text=True, timeout=60)
    with open(out) as f:
        return r, json.load(f)


def steps_tsv(statuses):
    return "".join(f"{name}\t{status}\t1.5\t{0 if status == 'ok' else 1}\t60\t\tcommand {name}\n"
                   for name, status in statuses)


class Samples(unittest.TestCase):
    def test_rows_tests_and_a_failed_step(self):
        with tempfile.TemporaryDirectory() as work:
            write(os.path.join(work, "facts.txt"), "date=2026-12-01T00:00:00Z\nhost=box\n")
            write(os.path.join(work, "logs", "facts.log"), "gpu=NVIDIA H200\ndriver=580.159.03\ntorch=2.11.0+cu130\n")
            write(os.path.join(work, "logs", "bench_train.log"), TRAIN_LOG)
            write(os.path.join(work, "logs", "bench_attention.log"), ATTENTION_LOG)
            write(os.path.join(work, "logs", "peer_eager.log"), "warming up\n" + PEER_EAGER + "\n")
            write(os.path.join(work, "logs", "peer_compile.log"), PEER_COMPILE + "\n")
            write(os.path.join(work, "logs", "tests.log"), "line\n" * 50 + "The following tests FAILED: train_gpu\n")
            write(os.path.join(work, "steps.tsv"), steps_tsv([
                ("facts", "ok"), ("build", "skipped"), ("tests", "failed"), ("bench_train", "ok"),
                ("bench_attention", "ok"), ("peer_eager", "ok"), ("peer_compile", "ok")]))
            junit_report(work)
            r, results = summarize(work)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertFalse(results["ok"])
        self.assertEqual(results["machine"], {"date": "2026-12-01T00:00:00Z", "host": "box", "gpu": "NVIDIA H200",
                                              "driver": "580.159.03", "torch": "2.11.0+cu130"})
        tests = {t["name"]: t["status"] for t in results["tests"]}
        self.assertEqual(tests, {"cuda_kernels": "passed", "train_gpu": "failed", "cuda_skipped": "skipped"})
        failed = [s for s in results["steps"] if s["status"] == "failed"]
        self.assertEqual([s["name"] for s in failed], ["tests"])
        self.assertEqual(failed[0]["log_tail"].splitlines()[-1], "The following tests FAILED: train_gpu")
        self.assertEqual(len(failed[0]["log_tail"].splitlines()), 40)
        self.assertNotIn("log_tail", results["steps"][0])
        self.assertEqual(results["steps"][0], {"name": "facts", "status": "ok", "seconds": 1.5, "rc": 0,
                                               "limit_s": 60, "note": "", "command": "command facts"})
        self.assertEqual(results["bench_train"], [{
            "preset": "qwen3_134m", "variant": "dense", "seq": 4096, "batch": 4, "threads": 16, "params_m": 133.641,
            "step_ms": 150.2, "tokens_per_s": 109085, "peak_mib": 30112, "gflops": 121234.5, "mfu_pct": 12.3,
            "reserved_mib": 36000}])
        attention = results["bench_attention"]
        self.assertEqual([(a["plugin"], a["seq"], a["backend"]) for a in attention],
                         [("dense", 4096, "flash (sdpa), dense"),
                          ("gated_window", 32768, "attnlab cuda kernel, window 256")])
        self.assertEqual(attention[1]["fwdbwd_ms"], 4.567)
        self.assertEqual(attention[1]["reserved_mib"], 1024.0)
        self.assertTrue(results["bench_attention_settings"].startswith("B=1 H=12 K=4 D=64 dtype=bf16"))
        self.assertEqual([p["mode"] for p in results["peer"]], ["eager", "compile"])
        summary = r.stdout
        self.assertIn("GPU check: NVIDIA H200 (driver 580.159.03), torch 2.11.0+cu130", summary)
        self.assertIn("tests: 1 passed, 1 failed, 1 skipped", summary)
        self.assertIn("attnlab dense / pytorch eager: 1.09x tokens/s", summary)  # 109085 / 100000
        self.assertIn("pytorch compile: unavailable (torch 1.13.0 has no torch.compile", summary)
        self.assertIn("198.8", summary)  # fwd+bwd TFLOP/s of dense at 4096
        self.assertIn("FAILED", summary)

    def test_all_ok_exits_0_and_bad_arguments_2(self):
        with tempfile.TemporaryDirectory() as work:
            write(os.path.join(work, "steps.tsv"), steps_tsv([("facts", "ok"), ("unpack", "skipped")]))
            r, results = summarize(work)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertTrue(results["ok"])
            self.assertIn("all steps ok", r.stdout)
            self.assertIn("tests: none ran", r.stdout)
            bad = subprocess.run([sys.executable, SUMMARIZE, os.path.join(work, "nowhere"), "x.json"],
                                 capture_output=True, text=True)
            self.assertEqual(bad.returncode, 2)
            self.assertIn("expected WORK_DIR (holding steps.tsv)", bad.stderr)


class RealOutput(unittest.TestCase):
    """The CPU tables of this build's attnlab parse into rows (the GPU form adds columns)."""

    def bench(self, *args):
        with tempfile.TemporaryDirectory() as tmp:
            r = subprocess.run([ATTNLAB, "bench", *args, "--db", os.path.join(tmp, "bench.db")], cwd=ROOT,
                               capture_output=True, text=True, timeout=100)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stderr + r.stdout

    def test_bench_tables(self):
        with tempfile.TemporaryDirectory() as work:
            write(os.path.join(work, "logs", "bench_train.log"), self.bench(
                "train", "--preset", "tiny", "--plugins", "dense", "--seq", "32", "--batch", "1", "--steps", "1",
                "--warmup", "0", "--threads", "1", "--peak-flops", "1e11"))
            write(os.path.join(work, "logs", "bench_attention.log"), self.bench(
                "attention", "--plugins", "dense", "--seq", "32", "--heads", "2", "--head-dim", "16",
                "--repeats", "1"))
            write(os.path.join(work, "steps.tsv"), steps_tsv([("bench_train", "ok"), ("bench_attention", "ok")]))
            r, results = summarize(work)
        self.assertEqual(r.returncode, 0, r.stderr)
        [train] = results["bench_train"]
        self.assertEqual((train["preset"], train["variant"], train["seq"], train["batch"]), ("tiny", "dense", 32, 1))
        self.assertEqual(len(train), 11)  # no reserved column on the CPU
        self.assertGreater(train["tokens_per_s"], 0)
        [attention] = results["bench_attention"]
        self.assertEqual((attention["plugin"], attention["seq"], len(attention)), ("dense", 32, 9))
        self.assertGreater(attention["fwdbwd_ms"], 0)
        self.assertIn("B=1 H=2 K=2 D=16 dtype=fp32", results["bench_attention_settings"])


if __name__ == "__main__":
    ATTNLAB = sys.argv.pop(1) if len(sys.argv) > 1 else os.path.join(ROOT, "build", "attnlab")
    unittest.main(verbosity=2)
