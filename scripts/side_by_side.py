#!/usr/bin/env python3
"""Side-by-side step times: driftbench's default networks against the same networks in PyTorch, one thread.

Runs `target/release/examples/step_timer` (build it first:
`cargo build --release -p driftbench-bench --example step_timer`) and `scripts/torch_bench.py` (default AdamW and
fused AdamW) interleaved, network by network, for several rounds, so that both see the same machine load; prints a
Markdown table of the medians and of the per-round speed ratios. PyTorch is optional: without it (no `--python`,
or the interpreter cannot import torch) only driftbench's figures are printed. Never run in CI.

usage: python3 scripts/side_by_side.py [--python VENV/bin/python] [--rounds 3] [--reps 7] [--steps 50] [--nets all]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NETS = ["sorting-mlp", "sorting-transformer", "sorting-pointer", "rocket-mlp", "rocket-mlp-tanh", "nav-imitation",
        "nav-ppo", "nav-vin"]

ap = argparse.ArgumentParser()
ap.add_argument("--python", help="a Python interpreter with torch and numpy installed")
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--reps", type=int, default=7)
ap.add_argument("--steps", type=int, default=50)
ap.add_argument("--nets", default="all")
ap.add_argument("--clock", choices=["cpu", "wall"], default="cpu",
                help="process CPU time (default: steadier while other work shares the machine) or wall clock")
args = ap.parse_args()
nets = NETS if args.nets == "all" else args.nets.split(",")
timer = os.path.join(ROOT, "target", "release", "examples", "step_timer")
if not os.path.exists(timer):
    sys.exit(f"{timer} is missing: run `cargo build --release -p driftbench-bench --example step_timer` first")
env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", RAYON_NUM_THREADS="1")


def run(cmd, net):
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    line = json.loads(out.strip().splitlines()[-1])
    params[net].add(line["params"])
    return line["step_cpu_ms_median" if args.clock == "cpu" else "step_ms_median"]


torch = None
if args.python:
    probe = subprocess.run([args.python, "-c", "import torch, numpy; print(torch.__version__)"], capture_output=True,
                           text=True)
    if probe.returncode == 0:
        torch = probe.stdout.strip()
    else:
        print(f"PyTorch not importable with {args.python}; printing driftbench only", file=sys.stderr)

common = ["--reps", str(args.reps), "--steps", str(args.steps)]
rows = {n: {"ours": [], "torch": [], "fused": []} for n in nets}
# Trainable scalars each side reports: one number per network when the twins agree.
params = {n: set() for n in nets}
for r in range(args.rounds):
    for n in nets:
        rows[n]["ours"].append(run([timer, n, *common], n))
        if torch:
            tb = [args.python, os.path.join(HERE, "torch_bench.py"), n, "--threads", "1", *common]
            rows[n]["torch"].append(run(tb, n))
            rows[n]["fused"].append(run(tb + ["--fused"], n))
        print(f"round {r + 1}/{args.rounds}: {n} done", file=sys.stderr, flush=True)

med = statistics.median


def count(n):
    """The parameter count, or every count seen when the two sides disagree."""
    return " vs ".join(f"{c:,}" for c in sorted(params[n]))


if torch:
    print(f"| network | driftbench ms/step | PyTorch {torch} ms/step | PyTorch fused AdamW ms/step | "
          "driftbench speed / PyTorch fused (per round) | parameters |")
    print("|---|---:|---:|---:|---:|---:|")
    for n in nets:
        d = rows[n]
        ratios = [f / o for f, o in zip(d["fused"], d["ours"])]
        print(f"| {n} | {med(d['ours']):.2f} | {med(d['torch']):.2f} | {med(d['fused']):.2f} | "
              f"**{med(ratios):.2f}×** ({', '.join(f'{x:.2f}' for x in ratios)}) | {count(n)} |")
else:
    print("| network | driftbench ms/step | parameters |")
    print("|---|---:|---:|")
    for n in nets:
        print(f"| {n} | {med(rows[n]['ours']):.2f} | {count(n)} |")
print(f"\n{args.rounds} rounds × {args.reps} repetitions × {args.steps} steps, one thread, interleaved; "
      f"{'process CPU time' if args.clock == 'cpu' else 'wall clock'} per step.")
mismatch = [n for n in nets if len(params[n]) > 1]
if mismatch:
    print(f"parameter counts differ between driftbench and PyTorch for: {', '.join(mismatch)}", file=sys.stderr)
    sys.exit(1)
