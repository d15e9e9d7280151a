#!/usr/bin/env python3
"""What scripts/gpu/check.sh asks of Python (standard library only; torch when present):

  facts                  the machine as key=value lines: GPU, driver, compute capability,
                         PyTorch and its CUDA, LibTorch's CMake prefix, nvcc, cmake, ninja
  gpu-tests BUILD regex  a `ctest -R` regex of the build's tests that need a GPU: named
                         *cuda* or *gpu*, or labelled gpu (empty when there are none)
  gpu-tests BUILD targets  the build targets those tests run (executables at the build root)
  token-shard FILE N V   an llm.c token shard of N random token ids below V (uint16), so
                         `attnlab config show` passes its data check on a box without data
"""
import os
import random
import re
import shlex
import shutil
import struct
import subprocess
import sys


def command_output(argv):
    """A command's stdout, or "" when it is missing or fails."""
    if not shutil.which(argv[0]):
        return ""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def first_line(text):
    return text.splitlines()[0] if text else ""


def torch_facts():
    try:
        import torch
    except ImportError as e:
        return {"torch": f"missing ({e})"}
    facts = {"torch": torch.__version__, "torch_cuda": torch.version.cuda,
             "torch_prefix": torch.utils.cmake_prefix_path, "cuda_available": torch.cuda.is_available()}
    if torch.cuda.is_available():
        major, minor = torch.cuda.get_device_capability(0)
        facts.update(gpu=torch.cuda.get_device_name(0), compute_capability=f"{major}.{minor}")
    return facts


def facts():
    smi = first_line(command_output(["nvidia-smi", "--query-gpu=name,driver_version,compute_cap,memory.total",
                                     "--format=csv,noheader,nounits"]))
    found = {}
    if smi:
        found.update(zip(("gpu", "driver", "compute_capability", "gpu_memory_mib"),
                         (part.strip() for part in smi.split(","))))
    for key, value in torch_facts().items():  # nvidia-smi's name and capability come first
        found.setdefault(key, value)
    nvcc = re.search(r"release ([0-9.]+)", command_output(["nvcc", "--version"]))
    found.update(nvcc=nvcc.group(1) if nvcc else "", cmake=first_line(command_output(["cmake", "--version"])),
                 ninja=command_output(["ninja", "--version"]), cores=os.cpu_count())
    for key, value in found.items():
        print(f"{key}={value}")


def registered_tests(build_dir):
    """(name, command, labels) of every add_test in the build's CTestTestfile.cmake files."""
    tests, labels = {}, {}
    for root, _, files in os.walk(build_dir):
        if "CTestTestfile.cmake" not in files:
            continue
        with open(os.path.join(root, "CTestTestfile.cmake")) as f:
            text = f.read()
        for name, args in re.findall(r"^add_test\(\[=\[(.+?)\]=\] (.*)\)$", text, re.M):
            tests[name] = shlex.split(args)
        for name, props in re.findall(r"^set_tests_properties\(\[=\[(.+?)\]=\] PROPERTIES (.*)\)$", text, re.M):
            found = re.search(r'LABELS "([^"]*)"', props)
            labels[name] = found.group(1).split(";") if found else []
    return [(name, command, labels.get(name, [])) for name, command in tests.items()]


def gpu_tests(build_dir, what):
    build_dir = os.path.abspath(build_dir)
    chosen = [(n, c, l) for n, c, l in registered_tests(build_dir)
              if re.search("cuda|gpu", n) or "gpu" in l]
    if what == "regex":
        print("^(" + "|".join(re.escape(n) for n, _, _ in chosen) + ")$" if chosen else "")
    else:
        targets = {os.path.basename(c[0]) for _, c, _ in chosen
                   if c and os.path.dirname(os.path.abspath(c[0])) == build_dir}
        print(" ".join(sorted(targets)))


def token_shard(path, n, vocab):
    """llm.c's format: 256 int32 header (magic 20240520, version 1, token count), uint16 ids."""
    rng = random.Random(0)
    with open(path, "wb") as f:
        f.write(struct.pack("<256i", 20240520, 1, n, *([0] * 253)))
        f.write(struct.pack(f"<{n}H", *(rng.randrange(vocab) for _ in range(n))))


def main(argv):
    if argv[:1] == ["facts"] and len(argv) == 1:
        return facts()
    if argv[:1] == ["gpu-tests"] and len(argv) == 3 and argv[2] in ("regex", "targets"):
        return gpu_tests(argv[1], argv[2])
    if argv[:1] == ["token-shard"] and len(argv) == 4:
        return token_shard(argv[1], int(argv[2]), min(int(argv[3]), 65536))
    sys.exit(f"usage:\n{__doc__}")


if __name__ == "__main__":
    main(sys.argv[1:])
