"""Time of the linear recurrence a_t = b_t + c_t a_{t-1}: the loop against the scans.

Run it from the repository root:

    python benchmarks/scan.py                 # the full table (several minutes)
    python benchmarks/scan.py --quick         # two lengths, one width, one round
    python benchmarks/scan.py --json out.json # also write the measurements to out.json
    python benchmarks/scan.py --rounds 3      # alternate the processes 3 times, keep medians

Every (method, size, dtype) is timed in a process of its own, with 2 threads, and the
methods of one size alternate round after round, so that a shared machine's drift is spread
over all of them; each time is the median of repeated calls of
``rnnbook.linear_recurrence(c, b, method=...)`` (input checks included, as a user gets it)
with c uniform in [0.9, 1) and b normal. Two clocks are read: the wall clock, and the
process's CPU time. The work is single-threaded NumPy, so on an idle machine the two agree;
on a busy one the wall clock also counts the time spent waiting for a core (a run longer
than a scheduler time slice waits more), and the CPU time is the better estimate of the
idle machine's wall time. The table shows CPU times. Beside each time stand the method's
work (multiplications and additions per lane), depth (dependent rounds) and NumPy calls,
from ``rnnbook.scan.scan_cost``. The load average before and after the run is recorded: on
a busy machine even the CPU times are noisier (cores share caches and memory bandwidth),
and only ratios that hold by a wide margin should be read from them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

LENGTHS = [1_000, 3_000, 10_000, 30_000, 100_000]
WIDTHS = [(4, 16), (8, 32)]  # (B, H): B * H = 64 and 256 lanes
DTYPES = ["float32", "float64"]
THREADS = 2


def timed(run) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one call."""
    start, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - start, time.process_time() - cpu


def repeats_for(steps: int) -> int:
    """Enough calls for a stable median, without spending minutes on the long sequences."""
    return max(5, min(50, 300_000 // steps))


def worker(args) -> None:
    from rnnbook.scan import linear_recurrence

    steps, batch, hidden = args.size
    rng = np.random.default_rng(0)
    c = rng.uniform(0.9, 1.0, size=(steps, batch, hidden)).astype(args.dtype)
    b = rng.normal(size=(steps, batch, hidden)).astype(args.dtype)

    def run():
        linear_recurrence(c, b, method=args.worker)

    run()  # warm-up: the first call pays for page faults on fresh memory
    wall, cpu = zip(*(timed(run) for _ in range(repeats_for(steps))), strict=True)
    print(json.dumps({"wall": float(np.median(wall)), "cpu": float(np.median(cpu))}))


def spawn(method: str, size, dtype: str) -> dict[str, float]:
    command = [sys.executable, __file__, "--worker", method, "--dtype", dtype,
               "--size", *map(str, size)]
    env = dict(os.environ, OMP_NUM_THREADS=str(THREADS), OPENBLAS_NUM_THREADS=str(THREADS))
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{method} worker failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two lengths, one width, one round")
    parser.add_argument("--json", help="also write the measurements to this file")
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternate the methods' processes this many times")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--dtype", default="float64", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    from rnnbook.scan import DEFAULT_METHOD, METHODS, default_block, scan_cost

    lengths = LENGTHS[:3:2] if args.quick else LENGTHS
    widths = WIDTHS[:1] if args.quick else WIDTHS
    rounds = 1 if args.quick else args.rounds
    load_before = os.getloadavg()
    print(f"{platform.machine()}, {os.cpu_count()} cores, NumPy {np.__version__}, "
          f"{THREADS} threads, {rounds} rounds; load average before: "
          + ", ".join(f"{x:.2f}" for x in load_before))
    print("CPU time of one call (median over rounds of the median over repeats):")
    header = ("| T | B x H | dtype | " + " | ".join(f"{m} (ms)" for m in METHODS) + " | "
              + " | ".join(f"{m}/loop" for m in METHODS[1:]) + " |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    rows = []
    for steps in lengths:
        for batch, hidden in widths:
            for dtype in DTYPES:
                size = (steps, batch, hidden)
                runs: dict[str, list[dict[str, float]]] = {m: [] for m in METHODS}
                for _ in range(rounds):
                    for method in METHODS:
                        runs[method].append(spawn(method, size, dtype))
                seconds = {m: float(np.median([r["cpu"] for r in v])) for m, v in runs.items()}
                for method in METHODS:
                    wall = [r["wall"] for r in runs[method]]
                    rows.append({"T": steps, "B": batch, "H": hidden, "dtype": dtype,
                                 "method": method, "seconds": seconds[method],
                                 "wall_seconds": float(np.median(wall)),
                                 "rounds_cpu_seconds": [r["cpu"] for r in runs[method]],
                                 "rounds_wall_seconds": wall, **scan_cost(steps, method)})
                ratios = " | ".join(f"{seconds[m] / seconds['loop']:.2f}" for m in METHODS[1:])
                times = " | ".join(f"{1e3 * seconds[m]:.2f}" for m in METHODS)
                print(f"| {steps} | {batch} x {hidden} | {dtype} | {times} | {ratios} |",
                      flush=True)
    load_after = os.getloadavg()
    print("load average after: " + ", ".join(f"{x:.2f}" for x in load_after))
    print("\nwork (multiplications and additions per lane), depth (dependent rounds), NumPy calls:")
    for steps in lengths:
        costs = {m: scan_cost(steps, m) for m in METHODS}
        print(f"T = {steps} (block {default_block(steps)}): " + "; ".join(
            f"{m} {c['work']}, {c['depth']}, {c['calls']}" for m, c in costs.items()))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"rows": rows, "numpy": np.__version__, "threads": THREADS,
                       "machine": platform.machine(), "cores": os.cpu_count(),
                       "rounds": rounds, "load_average_before": load_before,
                       "load_average_after": load_after, "default_method": DEFAULT_METHOD,
                       "seconds": "process CPU time; wall_seconds: wall clock",
                       "c_range": [0.9, 1.0]}, handle, indent=1)


if __name__ == "__main__":
    main()
