"""Time of the linear recurrence a_t = b_t + c_t a_{t-1}: the loop against the scans.

Run it from the repository root, on a machine as quiet as you can get (check ``uptime``):

    python benchmarks/scan.py                 # the full table (about 20 minutes)
    python benchmarks/scan.py --quick         # two lengths, one width, one round
    python benchmarks/scan.py --json out.json # also write the measurements to out.json
    python benchmarks/scan.py --rounds 5      # alternate the processes 5 times

Every (variant, size, dtype) is timed in a process of its own (one thread: the work is
elementwise NumPy, which does not use more), and the variants of one size alternate round
after round, so that a shared machine's drift is spread over all of them. The variants are
the four methods of ``rnnbook.scan`` and the blocked scan with a second block rule,
``blocked_sqrt``: L = ceil(sqrt(T)) instead of the default sqrt(2T/5) (the length that
minimises the NumPy calls), to choose the default rule from. Both lengths are balanced
(``rnnbook.scan.balanced_block``). c is uniform in [0.9, 1) and b normal.

Each process times two things, each as the fastest of repeated calls: the public call
``rnnbook.linear_recurrence(c, b, method=...)``, input checks included, as a user gets it
(the checks scan c and b for NaN and inf, a cost the same for every method), and the
algorithm alone, without the checks (``core_seconds``). The reported time of a variant is the
minimum over rounds: other processes can only ever slow a call down, so the fastest call is
the best estimate of the quiet machine's time. Two clocks are read: the wall clock, and the
process's CPU time. The work is single-threaded, so on an idle machine the two agree; on a
busy one the wall clock also counts the time spent waiting for a core. The table shows CPU
times. Beside each time stand the method's work (multiplications and additions per lane),
depth (dependent rounds) and NumPy calls, from ``rnnbook.scan.scan_cost``. The file records
the git commit of the code measured (with a flag if the measured files had uncommitted
changes) and the load average before, during (per size) and after the run: on a busy machine
even CPU times are noisier (cores share caches and memory bandwidth).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time

import numpy as np

LENGTHS = [1_000, 3_000, 10_000, 30_000, 100_000]
WIDTHS = [(4, 16), (8, 32)]  # (B, H): B * H = 64 and 256 lanes
DTYPES = ["float32", "float64"]
THREADS = 1
#: The blocked scan with the block length ceil(sqrt(T)), beside the package's default.
SQRT = "blocked_sqrt"
MEASURED_FILES = ["rnnbook/scan.py", "rnnbook/_checks.py", "benchmarks/scan.py"]


def sqrt_block(steps: int) -> int:
    """ceil(sqrt(T)), balanced like the default rule."""
    from rnnbook.scan import balanced_block

    return balanced_block(steps, math.isqrt(steps - 1) + 1) if steps > 1 else 1


def variants() -> list[str]:
    from rnnbook.scan import METHODS

    return [*METHODS, SQRT]


def timed(run) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one call."""
    start, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - start, time.process_time() - cpu


def repeats_for(steps: int) -> int:
    """Enough calls for a stable minimum, without spending minutes on the long sequences."""
    return max(5, min(50, 300_000 // steps))


def worker(args) -> None:
    from rnnbook.scan import _ALGORITHMS, default_block, linear_recurrence

    steps, batch, hidden = args.size
    rng = np.random.default_rng(0)
    c = rng.uniform(0.9, 1.0, size=(steps, batch, hidden)).astype(args.dtype)
    b = rng.normal(size=(steps, batch, hidden)).astype(args.dtype)
    method = "blocked" if args.worker == SQRT else args.worker
    block = None
    if method == "blocked":
        block = sqrt_block(steps) if args.worker == SQRT else default_block(steps)

    def public():
        linear_recurrence(c, b, method=method, block=block)

    def core():  # the algorithm alone: no input checks
        with np.errstate(under="ignore"):
            if method == "blocked":
                _ALGORITHMS[method](c, b, None, block)
            else:
                _ALGORITHMS[method](c, b, None)

    result = {"block": block}
    for name, run in (("", public), ("core_", core)):
        run()  # warm-up: the first call pays for page faults on fresh memory
        wall, cpu = zip(*(timed(run) for _ in range(repeats_for(steps))), strict=True)
        result[name + "wall"], result[name + "cpu"] = min(wall), min(cpu)
    print(json.dumps(result))


def spawn(variant: str, size, dtype: str) -> dict[str, float]:
    command = [sys.executable, __file__, "--worker", variant, "--dtype", dtype,
               "--size", *map(str, size)]
    env = dict(os.environ, OMP_NUM_THREADS=str(THREADS), OPENBLAS_NUM_THREADS=str(THREADS))
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{variant} worker failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def code_version() -> dict[str, object]:
    """The commit measured, and whether the measured files differ from it."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def git(*words):
        done = subprocess.run(["git", *words], capture_output=True, text=True, cwd=root,
                              check=False)
        return done.stdout.strip() if done.returncode == 0 else None

    changed = git("status", "--porcelain", "--", *MEASURED_FILES)
    return {"commit": git("rev-parse", "HEAD"),
            "uncommitted_changes": None if changed is None else bool(changed)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two lengths, one width, one round")
    parser.add_argument("--json", help="also write the measurements to this file")
    parser.add_argument("--rounds", type=int, default=5,
                        help="alternate the variants' processes this many times")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--dtype", default="float64", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    from rnnbook.scan import DEFAULT_METHOD, default_block, scan_cost

    names = variants()
    lengths = LENGTHS[:3:2] if args.quick else LENGTHS
    widths = WIDTHS[:1] if args.quick else WIDTHS
    rounds = 1 if args.quick else args.rounds
    version = code_version()
    load_before = os.getloadavg()
    print(f"{platform.machine()}, {os.cpu_count()} cores, NumPy {np.__version__}, "
          f"{THREADS} thread, {rounds} rounds, commit {version['commit']}"
          f"{' (with uncommitted changes)' if version['uncommitted_changes'] else ''}; "
          "load average before: " + ", ".join(f"{x:.2f}" for x in load_before))
    print("CPU time of one call, input checks included (fastest over rounds and repeats):")
    header = ("| T | B x H | dtype | load | " + " | ".join(f"{m} (ms)" for m in names) + " | "
              + " | ".join(f"{m}/loop" for m in names[1:]) + " |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    rows = []
    for steps in lengths:
        for batch, hidden in widths:
            for dtype in DTYPES:
                size = (steps, batch, hidden)
                load = os.getloadavg()[0]
                runs: dict[str, list[dict[str, float]]] = {m: [] for m in names}
                for _ in range(rounds):
                    for name in names:
                        runs[name].append(spawn(name, size, dtype))
                seconds = {m: min(r["cpu"] for r in v) for m, v in runs.items()}
                for name in names:
                    method = "blocked" if name == SQRT else name
                    block = runs[name][0]["block"]
                    rows.append({
                        "T": steps, "B": batch, "H": hidden, "dtype": dtype, "method": name,
                        "block": block, "seconds": seconds[name],
                        "core_seconds": min(r["core_cpu"] for r in runs[name]),
                        "wall_seconds": min(r["wall"] for r in runs[name]),
                        "rounds_cpu_seconds": [r["cpu"] for r in runs[name]],
                        "rounds_core_cpu_seconds": [r["core_cpu"] for r in runs[name]],
                        "rounds_wall_seconds": [r["wall"] for r in runs[name]],
                        "load_average": load, **scan_cost(steps, method, block)})
                ratios = " | ".join(f"{seconds[m] / seconds['loop']:.2f}" for m in names[1:])
                times = " | ".join(f"{1e3 * seconds[m]:.2f}" for m in names)
                print(f"| {steps} | {batch} x {hidden} | {dtype} | {load:.1f} | {times} | "
                      f"{ratios} |", flush=True)
    load_after = os.getloadavg()
    print("load average after: " + ", ".join(f"{x:.2f}" for x in load_after))
    print("\nwork (multiplications and additions per lane), depth (dependent rounds), NumPy calls:")
    for steps in lengths:
        costs = {m: scan_cost(steps, m) for m in names[:-1]}
        costs[SQRT] = scan_cost(steps, "blocked", sqrt_block(steps))
        print(f"T = {steps} (block {default_block(steps)}, ceil(sqrt T) {sqrt_block(steps)}): "
              + "; ".join(f"{m} {c['work']}, {c['depth']}, {c['calls']}"
                          for m, c in costs.items()))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"rows": rows, "numpy": np.__version__, "python": platform.python_version(),
                       "threads": THREADS, "machine": platform.machine(),
                       "cores": os.cpu_count(), "rounds": rounds, **version,
                       "load_average_before": load_before, "load_average_after": load_after,
                       "default_method": DEFAULT_METHOD,
                       "seconds": "process CPU time, fastest call over rounds and repeats, "
                                  "input checks included; core_seconds: the same without "
                                  "the checks; wall_seconds: wall clock",
                       "c_range": [0.9, 1.0]}, handle, indent=1)


if __name__ == "__main__":
    main()
