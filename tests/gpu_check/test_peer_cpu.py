#!/usr/bin/env python3
"""The PyTorch peer (benchmarks/peer/train_step.py) on CPU at a tiny size, with the config this
build's attnlab composes: eager gives one JSON line with attnlab's parameter count and
FLOPs/token (hand-computed), a finite loss near ln(vocab) and positive tokens/s, in fp32 and
bf16; compile does the same, or on a PyTorch without torch.compile (Debian's 1.13) says
"unavailable" and exits 0; a bad or absent device exits 2 naming it. Exit 77 (skipped) when no
python3 here has torch and PyYAML (Debian: apt-get install python3-torch).

usage: test_peer_cpu.py ATTNLAB_EXECUTABLE
"""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PEER = os.path.join(ROOT, "benchmarks", "peer", "train_step.py")
HELPERS = os.path.join(ROOT, "scripts", "gpu", "check_helpers.py")
ATTNLAB = None   # set from the command line
PYTHON = None    # the first python3 with torch and yaml
CONFIG = None    # the composed tiny config


def python_with_torch():
    for candidate in (shutil.which("python3"), "/usr/bin/python3"):
        if candidate and subprocess.run([candidate, "-c", "import torch, yaml"], capture_output=True).returncode == 0:
            return candidate
    return None


def peer(*args):
    r = subprocess.run([PYTHON, PEER, "--config", CONFIG, "--batch", "2", "--seq", "64", "--warmup", "1",
                        "--steps", "1", "--threads", "1", *args], capture_output=True, text=True, timeout=100)
    return r, (json.loads(r.stdout) if r.returncode == 0 else None)


class Peer(unittest.TestCase):
    def check_run(self, record, mode, dtype):
        self.assertEqual((record["mode"], record["dtype"], record["device"]), (mode, dtype, "cpu"))
        self.assertEqual(record["preset"], "tiny")
        self.assertEqual(record["params"], 7226752)  # attnlab's count: tests/bench
        # 6 x 7,225,344 matmul parameters + 4 layers x 3.5 x 4*32*4*64*65/2 / 64 (tests/bench).
        self.assertEqual(record["flops_per_token"], 43352064.0 + 232960.0)
        self.assertLess(abs(record["loss"] - math.log(50304)), 0.5)
        self.assertGreater(record["tokens_per_s"], 0)
        self.assertAlmostEqual(record["tokens_per_s"], 2 * 64 / (record["step_ms"] / 1e3), delta=1.0)
        self.assertIsNone(record["peak_allocated_mib"])
        self.assertGreater(record["peak_rss_mib"], 10)
        self.assertIsNone(record["mfu"])  # no peak on a CPU unless declared
        self.assertRegex(record["attention"], "^(sdpa|matmul\\+softmax)")

    def test_eager_fp32_and_bf16(self):
        for dtype in ("fp32", "bf16"):
            r, record = peer("--mode", "eager", "--dtype", dtype)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.check_run(record, "eager", dtype)

    def test_compile(self):
        r, record = peer("--mode", "compile", "--peak-flops", "1e12")
        self.assertEqual(r.returncode, 0, r.stderr)
        if "unavailable" in record:
            self.assertIn("has no torch.compile", record["unavailable"])
            self.assertNotIn("tokens_per_s", record)
        else:
            self.check_run({**record, "mfu": None}, "compile", "fp32")
            self.assertAlmostEqual(record["mfu"], record["flops_per_token"] * record["tokens_per_s"] / 1e12)

    def test_bad_devices_exit_2(self):
        r, _ = peer("--device", "gpu")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--device 'gpu' is not a device", r.stderr)
        no_cuda = subprocess.run([PYTHON, "-c", "import torch; print(torch.cuda.is_available())"],
                                 capture_output=True, text=True).stdout.strip() == "False"
        if no_cuda:
            r, _ = peer("--device", "cuda")
            self.assertEqual(r.returncode, 2)
            self.assertIn("sees no CUDA device", r.stderr)


def compose_config(folder):
    """`attnlab config show` of the smoke experiment with dense attention; its data check gets
    a random-token shard, as scripts/gpu/check.sh does."""
    shard, config = os.path.join(folder, "tokens.bin"), os.path.join(folder, "tiny.yaml")
    subprocess.run([sys.executable, HELPERS, "token-shard", shard, "100000", "50257"], check=True)
    with open(config, "w") as f:
        r = subprocess.run([ATTNLAB, "config", "show", "experiments/smoke.yaml", "attention=dense",
                            f"data.train_files=[{shard}]"], cwd=ROOT, stdout=f, stderr=subprocess.PIPE,
                           text=True, timeout=60)
    if r.returncode != 0:
        sys.exit(f"test_peer_cpu.py: {ATTNLAB} config show failed:\n{r.stderr}")
    return config


if __name__ == "__main__":
    ATTNLAB = sys.argv.pop(1) if len(sys.argv) > 1 else os.path.join(ROOT, "build", "attnlab")
    PYTHON = python_with_torch()
    if not PYTHON:
        print("SKIPPED: no python3 here has torch and yaml (Debian: apt-get install python3-torch)")
        sys.exit(77)
    with tempfile.TemporaryDirectory() as folder:
        CONFIG = compose_config(folder)
        passed = unittest.main(verbosity=2, exit=False).result.wasSuccessful()
    sys.exit(0 if passed else 1)
