#!/usr/bin/env python3
"""Assembles scripts/gpu/check.sh's results file and prints its summary (standard library only).

usage: summarize.py WORK_DIR RESULTS_JSON

WORK_DIR is what check.sh leaves: facts.txt (key=value lines: date, host, commit, options),
steps.tsv (one line per step: name, status, seconds, exit code, time limit, note, command),
logs/<step>.log (each step's output; the facts step prints key=value lines) and ctest.xml (the
JUnit report of the tests step). RESULTS_JSON gets one object:

  ok               every step ok or skipped on request
  machine          facts.txt and the facts step's key=value lines
  steps            [{name, status, seconds, rc, limit_s, note, command, log_tail}]; status is ok,
                   failed, timeout, not_run (a step it needs failed, or the budget was spent)
                   or skipped (on request); log_tail (the last 40 lines) for steps not ok
  tests            [{name, status, seconds}] from ctest.xml
  bench_train      attnlab bench train's table rows
  bench_attention  attnlab bench attention's table rows, with its settings line
  peer             the PyTorch peer's JSON lines (eager, compile)

Exit status: 0 when ok, 1 when a step failed, 2 on bad arguments or a missing steps.tsv.
"""
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

GOOD = ("ok", "skipped")
STEP_FIELDS = ("name", "status", "seconds", "rc", "limit_s", "note", "command")
TRAIN_COLUMNS = ("preset", "variant", "seq", "batch", "threads", "params_m", "step_ms", "tokens_per_s",
                 "peak_mib", "gflops", "mfu_pct", "reserved_mib")
ATTENTION_COLUMNS = ("plugin", "seq", "fwd_ms", "fwd_gflops", "fwd_extra_mib", "fwdbwd_ms", "fwdbwd_gflops",
                     "fwdbwd_extra_mib", "peak_mib", "reserved_mib", "backend")


def read_text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def key_values(text):
    return dict(re.findall(r"^([a-z_]+)=(.*)$", text, re.M))


def number(text):
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() and "." not in text else value


def read_steps(work):
    steps = []
    for line in read_text(os.path.join(work, "steps.tsv")).splitlines():
        step = dict(zip(STEP_FIELDS, line.split("\t", len(STEP_FIELDS) - 1)))
        for key in ("seconds", "rc", "limit_s"):
            step[key] = number(step.get(key, "")) if step.get(key) else None
        if step["status"] not in GOOD:
            log = read_text(os.path.join(work, "logs", step["name"] + ".log")).splitlines()
            step["log_tail"] = "\n".join(log[-40:])
        steps.append(step)
    return steps


def table_rows(text, header_start, columns, min_columns):
    """The rows under the header line starting with `header_start`: lines of at least
    `min_columns` words whose T is a number (progress lines on stderr interleave). Words past
    the columns belong to the last one (attention's backends hold spaces)."""
    rows, inside, n = [], False, len(columns)
    for line in text.splitlines():
        words = line.split()
        if not inside:
            inside = bool(words) and words[0] == header_start
            continue
        if not words or line.startswith("rows added"):
            break
        if len(words) >= min_columns and isinstance(number(words[columns.index("seq")]), int):
            values = words[:n - 1] + ([" ".join(words[n - 1:])] if len(words) >= n else [])
            rows.append({c: number(w) for c, w in zip(columns, values)})
    return rows


def peer_records(text):
    records = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return records


def read_tests(work):
    try:
        root = ET.parse(os.path.join(work, "ctest.xml")).getroot()
    except (FileNotFoundError, ET.ParseError):
        return []
    tests = []
    for case in root.iter("testcase"):
        status = case.get("status") or ("failed" if case.find("failure") is not None else "passed")
        if case.find("skipped") is not None:
            status = "skipped"
        tests.append({"name": case.get("name"), "status": {"run": "passed", "fail": "failed"}.get(status, status),
                      "seconds": number(case.get("time", "0"))})
    return tests


def assemble(work):
    log = lambda name: read_text(os.path.join(work, "logs", name + ".log"))
    steps = read_steps(work)
    attention_log = log("bench_attention")
    settings = re.search(r"^attention bench: (.*)$", attention_log, re.M)
    return {
        "ok": bool(steps) and all(s["status"] in GOOD for s in steps),
        "machine": {**key_values(read_text(os.path.join(work, "facts.txt"))), **key_values(log("facts"))},
        "steps": steps,
        "tests": read_tests(work),
        "bench_train": table_rows(log("bench_train"), "preset", TRAIN_COLUMNS, 11),
        "bench_attention": table_rows(attention_log, "plugin", ATTENTION_COLUMNS, 9),
        "bench_attention_settings": settings.group(1) if settings else None,
        "peer": peer_records(log("peer_eager")) + peer_records(log("peer_compile")),
    }


def fmt(value, digits=1):
    return f"{value:,.{digits}f}" if isinstance(value, (int, float)) else "-"


def training_lines(results):
    train, peers = results["bench_train"], [p for p in results["peer"] if "tokens_per_s" in p]
    if not train and not peers:
        return ["training step: no rows"]
    presets = sorted({r["preset"] for r in train} | {p["preset"] for p in peers})
    lines = [f"training step, {', '.join(presets)} (attnlab bench train; the PyTorch peer: same model and steps):",
             f"  {'who':<22}{'T':>7}{'B':>4}{'tokens/s':>12}{'step ms':>10}{'MFU %':>8}{'peak MiB':>10}"]
    for r in train:
        lines.append(f"  {'attnlab ' + r['variant']:<22}{r['seq']:>7}{r['batch']:>4}"
                     f"{fmt(r['tokens_per_s'], 0):>12}{fmt(r['step_ms']):>10}{fmt(r['mfu_pct']):>8}"
                     f"{fmt(r['peak_mib'], 0):>10}")
    for p in peers:
        mfu = p["mfu"] * 100 if isinstance(p.get("mfu"), (int, float)) else None
        lines.append(f"  {'pytorch ' + p['mode']:<22}{p['seq']:>7}{p['batch']:>4}"
                     f"{fmt(p['tokens_per_s'], 0):>12}{fmt(p['step_ms']):>10}{fmt(mfu):>8}"
                     f"{fmt(p.get('peak_allocated_mib') or p.get('peak_rss_mib'), 0):>10}")
    dense = next((r for r in train if r["variant"] == "dense"), None)
    for p in peers if dense else []:
        lines.append(f"  attnlab dense / pytorch {p['mode']}: {dense['tokens_per_s'] / p['tokens_per_s']:.2f}x tokens/s")
    lines += [f"  pytorch {p['mode']}: unavailable ({p['unavailable']})" for p in results["peer"] if "unavailable" in p]
    return lines


def attention_lines(results):
    rows = results["bench_attention"]
    if not rows:
        return ["attention: no rows"]
    lines = [f"attention ({results['bench_attention_settings'] or 'settings not found'}):",
             f"  {'plugin':<14}{'T':>7}{'fwd ms':>10}{'fwd+bwd ms':>12}{'TFLOP/s':>9}{'extra MiB':>11}"
             f"{'peak MiB':>10}  backend"]
    for r in rows:
        tflops = r["fwdbwd_gflops"] / 1e3 if isinstance(r["fwdbwd_gflops"], (int, float)) else None
        lines.append(f"  {r['plugin']:<14}{r['seq']:>7}{fmt(r['fwd_ms'], 3):>10}{fmt(r['fwdbwd_ms'], 3):>12}"
                     f"{fmt(tflops, 1):>9}{fmt(r['fwdbwd_extra_mib']):>11}{fmt(r['peak_mib'], 0):>10}"
                     f"  {r.get('backend', '-')}")
    return lines


def summary(results, path):
    m = results["machine"]
    lines = [f"GPU check: {m.get('gpu', 'no GPU found')} (driver {m.get('driver', '?')}), "
             f"torch {m.get('torch', '?')} (CUDA {m.get('torch_cuda', '?')}), nvcc {m.get('nvcc') or '?'}, "
             f"{m.get('date', '?')}", "", "steps:"]
    for s in results["steps"]:
        note = f"  ({s['note']})" if s.get("note") else ""
        lines.append(f"  {s['name']:<16}{s['status']:<9}{fmt(s['seconds']):>8} s{note}")
    tests = results["tests"]
    counts = {k: sum(t["status"] == k for t in tests) for k in ("passed", "failed", "skipped")}
    lines += ["", "tests: " + (", ".join(f"{n} {k}" for k, n in counts.items()) + ": " +
                               ", ".join(f"{t['name']} {t['status']}" for t in tests) if tests else "none ran"), ""]
    lines += training_lines(results) + [""] + attention_lines(results)
    lines += ["", f"{'all steps ok' if results['ok'] else 'FAILED: see the steps above'}; results in {path}"]
    return "\n".join(lines)


def main(argv):
    if len(argv) != 2 or not os.path.isfile(os.path.join(argv[0], "steps.tsv")):
        print(f"summarize.py: expected WORK_DIR (holding steps.tsv) and RESULTS_JSON, got {argv}\n\n{__doc__}",
              file=sys.stderr)
        return 2
    results = assemble(argv[0])
    os.makedirs(os.path.dirname(os.path.abspath(argv[1])), exist_ok=True)
    with open(argv[1], "w") as f:
        json.dump(results, f, indent=1)
        f.write("\n")
    print(summary(results, argv[1]))
    return 0 if results["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
