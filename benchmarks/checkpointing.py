"""Plain against checkpointed BPTT: time and memory against the sequence length T.

Run it from the repository root:

    python benchmarks/checkpointing.py                  # the full table (a few minutes)
    python benchmarks/checkpointing.py --quick          # two lengths, fewer repeats
    python benchmarks/checkpointing.py --json out.json  # also write the measurements
    python benchmarks/checkpointing.py --cells lstm     # only some cells (rnn, lstm, gru)
    python benchmarks/checkpointing.py --rounds 3       # alternate the processes 3 times
    python benchmarks/checkpointing.py --threads 1 --clock cpu  # on a busy machine

For each cell and length T, with segments of k = round(sqrt(T)) steps, it reports:

* the time of the plain forward pass alone, of plain forward + backward, and of checkpointed
  forward + backward (the best of repeated runs in a process, the median over rounds of
  processes); checkpointing should cost about one extra
  forward pass, so the column (checkpointed - plain) / forward should be near 1;
* the time of plain forward + backward grouped as one segment of all T steps
  (``segment=T``): the plain path before it grouped its work by checkpointing's segments to
  give the checkpointed numbers bit for bit. The last column, plain / one segment, is what
  that grouping costs (or saves);
* the bytes kept between the forward and the backward pass (array sizes, the input left
  out) and tracemalloc's peak over the backward pass (every work buffer counted from empty,
  the returned gradients included); the JSON also holds the peak over forward + backward.

The plain forward pass is timed as the package's layers run it: each call passes the previous
call's cache as ``recycle``, so that its buffers of length T are reused instead of allocated
(and page-faulted) anew. The memory measurements use fresh caches.

Each implementation runs in its own process with 2 BLAS threads, as in benchmarks/bptt.py,
timed by the wall clock. On a machine that other programs keep busy, ``--threads 1 --clock
cpu`` comes closer to the work itself: the CPU time of one thread is not inflated by time
spent waiting for a core (with two threads an idle BLAS thread spins, and its CPU time
counts). It is not immune to other programs: contention for the processor's caches and for
memory bandwidth makes the same work take more CPU time. The JSON records the load average
(``os.getloadavg``, as ``uptime`` prints it) before and after the run.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import subprocess
import sys
import time
import tracemalloc

import numpy as np

LENGTHS = [100, 300, 1000, 3000]
SIZE = (32, 64, 256)  # B, D, H: the size of the memory row of benchmarks/bptt.py
DTYPE = "float32"
THREADS = 2  # the default; --threads changes it
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
CELLS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def problem(cell: str, T: int, seed: int = 0):
    import rnnbook

    B, D, H = SIZE
    layer = getattr(rnnbook, CELLS[cell])(D, H, dtype=DTYPE, seed=seed)
    rng = np.random.default_rng(seed + 1)
    x = rng.normal(size=(T, B, D)).astype(DTYPE)
    d_out = rng.normal(size=(T, B, H)).astype(DTYPE)
    return layer.params, x, d_out


def passes(impl: str, cell: str, params, x, recycle: bool = False):
    """``(forward, backward)`` functions of one implementation (``"plain"``,
    ``"plain_one_segment"`` or ``"checkpointed"``): ``forward()`` returns what
    ``backward(kept, d_out)`` needs. With ``recycle``, the plain ``forward()`` lends the
    previous call's cache to the next call, as the package's layers do."""
    from rnnbook import checkpoint, functional, gru, lstm

    if impl == "checkpointed":
        def forward():
            return checkpoint.checkpoint_forward(cell, params, x)[2]
        return forward, lambda kept, d_out: checkpoint.checkpoint_backward(params, kept, d_out)
    module = {"rnn": functional, "lstm": lstm, "gru": gru}[cell]
    plain_forward = getattr(module, f"{cell}_forward")
    plain_backward = getattr(module, f"{cell}_backward")

    last = [None]  # the previous call's cache, lent to the next call with ``recycle``
    segment = x.shape[0] if impl == "plain_one_segment" else None  # None: sqrt_segment(T)

    def forward():
        cache = plain_forward(params, x, recycle=last[0], segment=segment)[2]
        if recycle:
            last[0] = cache
        return cache
    return forward, lambda kept, d_out: plain_backward(params, kept, d_out)


def best_time(run, repeats: int, clock=time.perf_counter) -> float:
    """The fastest of ``repeats`` runs after a warm-up: on a shared machine the least
    disturbed run is the best estimate of the work itself."""
    run()  # warm-up: first-touch page faults, the work-buffer pool
    best = np.inf
    for _ in range(repeats):
        start = clock()
        run()
        best = min(best, clock() - start)
    return float(best)


def _traced_peak(run):
    """``run()``'s result and tracemalloc's peak while it ran, every work buffer counted."""
    import rnnbook._workspace

    rnnbook._workspace._local.pool = {}
    tracemalloc.start()
    result = run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, peak


def memory(impl: str, cell: str, T: int) -> dict:
    """Bytes kept between the passes (array sizes), tracemalloc's peak over the backward pass
    alone (returned gradients included, their bytes also given apart), and over forward +
    backward (output included)."""
    from rnnbook.checkpoint import stored_bytes

    params, x, d_out = problem(cell, T)
    forward, backward = passes(impl, cell, params, x)
    kept = forward()
    stored = stored_bytes(kept)
    grads, backward_peak = _traced_peak(functools.partial(backward, kept, d_out))
    returned = sum(g.nbytes for g in grads.values())
    del kept, grads
    _, total_peak = _traced_peak(lambda: backward(forward(), d_out))
    return {"stored_bytes": stored, "backward_peak_bytes": backward_peak,
            "returned_bytes": returned, "peak_bytes": total_peak}


def work(impl: str, cell: str, T: int, repeats: int, clock: str) -> dict:
    params, x, d_out = problem(cell, T)
    forward, backward = passes(impl, cell, params, x, recycle=True)
    result = {"seconds": best_time(lambda: backward(forward(), d_out), repeats, CLOCKS[clock]),
              "forward_seconds": best_time(forward, repeats, CLOCKS[clock])}
    result.update(memory(impl, cell, T))
    return result


def spawn(impl: str, cell: str, T: int, repeats: int, threads: int, clock: str) -> dict:
    command = [sys.executable, __file__, "--worker", impl, "--cell", cell, "--length", str(T),
               "--repeats", str(repeats), "--clock", clock]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{impl} worker failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def interleaved(cell: str, T: int, repeats: int, rounds: int, threads: int,
                clock: str) -> tuple[dict, dict]:
    """Plain, plain as one segment and checkpointed in alternating processes, ``rounds``
    times each; medians of the times (a shared machine's speed drifts), memory from the first
    round (it is exact)."""
    runs = {"plain": [], "plain_one_segment": [], "checkpointed": []}
    for _ in range(rounds):
        for impl in runs:
            runs[impl].append(spawn(impl, cell, T, repeats, threads, clock))
    merged = {}
    for impl, results in runs.items():
        merged[impl] = dict(results[0])
        for key in ("seconds", "forward_seconds"):
            merged[impl][key] = float(np.median([r[key] for r in results]))
    return merged["plain"], merged["plain_one_segment"], merged["checkpointed"]


def commit() -> str | None:
    """The checked-out commit of the repository measured (None outside a git checkout)."""
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, cwd=os.path.dirname(os.path.abspath(__file__)),
                          check=False)
    return done.stdout.strip() or None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two lengths, fewer repeats")
    parser.add_argument("--json", help="also write the measurements to this file")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=1,
                        help="alternate the plain and checkpointed processes this many times")
    parser.add_argument("--cells", nargs="+", default=list(CELLS), choices=list(CELLS))
    parser.add_argument("--threads", type=int, default=THREADS, help="BLAS threads")
    parser.add_argument("--clock", default="wall", choices=list(CLOCKS),
                        help="wall-clock time, or the CPU time of the process")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--cell", help=argparse.SUPPRESS)
    parser.add_argument("--length", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(work(args.worker, args.cell, args.length, args.repeats, args.clock)))
        return

    from rnnbook.checkpoint import sqrt_segment

    lengths = LENGTHS[:2] if args.quick else LENGTHS
    repeats = 3 if args.quick else args.repeats
    B, D, H = SIZE
    print(f"{platform.machine()}, {os.cpu_count()} cores, NumPy {np.__version__}, "
          f"{args.threads} threads, {args.clock} clock; B, D, H = {B}, {D}, {H}, {DTYPE}; "
          "k = round(sqrt(T))")
    header = ("| cell | T | k | forward (ms) | plain (ms) | checkpointed (ms) "
              "| (ckpt - plain) / forward | stored plain (MiB) | stored ckpt (MiB) "
              "| backward peak plain (MiB) | backward peak ckpt (MiB) "
              "| plain, one segment (ms) | plain / one segment |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    load_before, measured_commit = os.getloadavg(), commit()
    rows = []
    for cell in args.cells:
        for T in lengths:
            plain, whole, ckpt = interleaved(cell, T, repeats, args.rounds, args.threads,
                                             args.clock)
            row = {
                "cell": cell, "T": T, "segment": sqrt_segment(T),
                "forward_s": plain["forward_seconds"], "plain_s": plain["seconds"],
                "checkpointed_s": ckpt["seconds"],
                "checkpointed_forward_s": ckpt["forward_seconds"],
                "plain_stored_bytes": plain["stored_bytes"],
                "checkpointed_stored_bytes": ckpt["stored_bytes"],
                "plain_backward_peak_bytes": plain["backward_peak_bytes"],
                "checkpointed_backward_peak_bytes": ckpt["backward_peak_bytes"],
                "returned_bytes": ckpt["returned_bytes"],
                "plain_peak_bytes": plain["peak_bytes"],
                "checkpointed_peak_bytes": ckpt["peak_bytes"],
                "plain_one_segment_s": whole["seconds"],
                "plain_one_segment_forward_s": whole["forward_seconds"],
                "plain_one_segment_backward_peak_bytes": whole["backward_peak_bytes"],
            }
            rows.append(row)
            extra = (row["checkpointed_s"] - row["plain_s"]) / row["forward_s"]
            print(f"| {CELLS[cell]} | {T} | {row['segment']} | {1e3 * row['forward_s']:.1f} | "
                  f"{1e3 * row['plain_s']:.1f} | {1e3 * row['checkpointed_s']:.1f} | "
                  f"{extra:.2f} | {row['plain_stored_bytes'] / 2**20:.1f} | "
                  f"{row['checkpointed_stored_bytes'] / 2**20:.2f} | "
                  f"{row['plain_backward_peak_bytes'] / 2**20:.1f} | "
                  f"{row['checkpointed_backward_peak_bytes'] / 2**20:.1f} | "
                  f"{1e3 * row['plain_one_segment_s']:.1f} | "
                  f"{row['plain_s'] / row['plain_one_segment_s']:.3f} |", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"rows": rows, "size": {"B": B, "D": D, "H": H}, "dtype": DTYPE,
                       "numpy": np.__version__, "threads": args.threads, "clock": args.clock,
                       "repeats": repeats,
                       "rounds": args.rounds, "machine": platform.machine(),
                       "recycle_plain_cache": True, "commit": measured_commit,
                       "load_average_before": [round(v, 2) for v in load_before],
                       "load_average_after": [round(v, 2) for v in os.getloadavg()]},
                      handle, indent=1)


if __name__ == "__main__":
    main()
