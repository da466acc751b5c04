"""Forward + backward time of the RNN, LSTM and GRU: the textbook loop, rnnbook's fast path,
and torch.nn (when torch is installed) with the same weights.

Run it from the repository root:

    python benchmarks/bptt.py                 # the full table (a few minutes)
    python benchmarks/bptt.py --quick         # one size, fewer repeats
    python benchmarks/bptt.py --json out.json # also write the measurements to out.json
    python benchmarks/bptt.py --cells lstm    # only some cells (rnn, lstm, gru)
    python benchmarks/bptt.py --rounds 3      # alternate the processes 3 times, keep medians

Each implementation is timed in a separate process: in one process, NumPy's and torch's
idle BLAS threads compete for the cores and small matrix products slow down many times.
Both use 2 threads. Times are medians over repeated runs of forward + backward (input
gradient included) for a given upstream gradient ``d_out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import tracemalloc

import numpy as np

SIZES = [(50, 32, 32, 128), (100, 64, 64, 256), (200, 32, 128, 512)]
DTYPES = ["float32", "float64"]
THREADS = 2


CELLS = {"rnn": ("RNN", 1), "lstm": ("LSTM", 4), "gru": ("GRU", 3)}


def flops(T: int, B: int, D: int, H: int, gates: int = 1) -> float:
    """Matrix-product FLOPs of forward + backward: 3 products with W_ih, 3 with W_hh."""
    return 6.0 * T * B * gates * H * (D + H)


def problem(T, B, D, H, dtype, seed=0, cell="rnn"):
    import rnnbook

    rnn = getattr(rnnbook, CELLS[cell][0])(D, H, dtype=dtype, seed=seed)
    rng = np.random.default_rng(seed + 1)
    x = rng.normal(size=(T, B, D)).astype(dtype)
    d_out = rng.normal(size=(T, B, H)).astype(dtype)
    return rnn, x, d_out


def timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def median_time(run, repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        run()
    return float(np.median([timed(run) for _ in range(repeats)]))


def gemm_rate(dtype: str, n: int = 1024, repeats: int = 10) -> float:
    """The machine's large matrix-product rate in GFLOP/s (NumPy, same threads): the best
    of several runs, since a peak rate is what the percentages compare with."""
    a = np.random.default_rng(0).normal(size=(n, n)).astype(dtype)
    b = np.random.default_rng(1).normal(size=(n, n)).astype(dtype)
    a @ b
    best = min(timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def work_numpy(impl: str, cell, T, B, D, H, dtype, repeats):
    from rnnbook import reference

    rnn, x, d_out = problem(T, B, D, H, dtype, cell=cell)
    if impl == "fast":
        def run():
            rnn.forward(x)
            rnn.backward(d_out)
    else:
        kind = cell
        initial = (None, None) if cell == "lstm" else (None,)

        def run():
            reference.reference_backward(kind, rnn.params, x, initial, d_out, initial)
    return {"seconds": median_time(run, repeats), "gemm_gflops": gemm_rate(dtype)}


def work_torch(cell, T, B, D, H, dtype, repeats):
    import torch

    torch.set_num_threads(THREADS)
    rnn, x, d_out = problem(T, B, D, H, dtype, cell=cell)
    module = getattr(torch.nn, CELLS[cell][0])(D, H).to(getattr(torch, dtype))
    module.load_state_dict({k: torch.from_numpy(v) for k, v in rnn.params.items()})
    x_t = torch.from_numpy(x).requires_grad_(True)
    d_out_t = torch.from_numpy(d_out)

    def run():
        module.zero_grad(set_to_none=True)
        x_t.grad = None
        out, _ = module(x_t)
        out.backward(d_out_t)

    return {"seconds": median_time(run, repeats)}


def stored_activations(T=1000, B=32, D=64, H=256) -> dict:
    """What each implementation keeps for backward, in multiples of one T*B*H array."""
    from rnnbook.functional import rnn_backward, rnn_forward

    rnn, x, d_out = problem(T, B, D, H, "float32")
    unit = T * B * H * 4
    _, _, cache = rnn_forward(rnn.params, x)
    kept = sum(c.states.nbytes for layer in cache.layers for c in layer)
    del cache
    tracemalloc.start()
    _, _, cache = rnn_forward(rnn.params, x)
    rnn_backward(rnn.params, cache, d_out)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    result = {"rnnbook_cache": kept / unit, "rnnbook_peak": peak / unit}
    try:
        import torch
    except ImportError:
        return result
    module = torch.nn.RNN(D, H)
    parameters = {p.data_ptr() for p in module.parameters()}
    seen: dict[int, int] = {}

    def pack(tensor):
        if tensor.data_ptr() not in parameters:
            seen[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()
        return tensor

    x_t = torch.from_numpy(x).requires_grad_(True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        module(x_t)
    seen.pop(x_t.untyped_storage().data_ptr(), None)  # the input is the caller's, not kept
    result["torch_saved"] = sum(seen.values()) / unit
    return result


def worker(args) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))
    T, B, D, H = args.size
    if args.worker == "torch":
        result = work_torch(args.cell, T, B, D, H, args.dtype, args.repeats)
    elif args.worker == "memory":
        result = stored_activations()
    else:
        result = work_numpy(args.worker, args.cell, T, B, D, H, args.dtype, args.repeats)
    print(json.dumps(result))


def spawn(kind: str, size, dtype: str, repeats: int, cell: str = "rnn") -> dict | None:
    command = [sys.executable, __file__, "--worker", kind, "--dtype", dtype, "--cell", cell,
               "--repeats", str(repeats), "--size", *map(str, size)]
    env = dict(os.environ, OMP_NUM_THREADS=str(THREADS), OPENBLAS_NUM_THREADS=str(THREADS))
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        if "No module named 'torch'" in done.stderr:
            return None
        raise RuntimeError(f"{kind} worker failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def interleaved(size, dtype: str, repeats: int, cell: str, rounds: int, with_torch: bool):
    """Time rnnbook and torch in alternating processes, ``rounds`` times each, and keep the
    median of each: a shared machine's speed drifts, and alternating spreads the drift
    over both."""
    fast_runs, torch_runs = [], []
    for _ in range(rounds):
        fast_runs.append(spawn("fast", size, dtype, repeats, cell))
        if with_torch:
            torch_runs.append(spawn("torch", size, dtype, repeats, cell))
    fast = dict(fast_runs[0], seconds=float(np.median([r["seconds"] for r in fast_runs])))
    if not with_torch:
        return fast, None
    return fast, {"seconds": float(np.median([r["seconds"] for r in torch_runs]))}


def has_torch() -> bool:
    probe = subprocess.run([sys.executable, "-c", "import torch"], capture_output=True, check=False)
    return probe.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one size, fewer repeats")
    parser.add_argument("--json", help="also write the measurements to this file")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=1,
                        help="alternate rnnbook and torch processes this many times")
    parser.add_argument("--cells", nargs="+", default=list(CELLS), choices=list(CELLS))
    parser.add_argument("--cell", default="rnn", help=argparse.SUPPRESS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--dtype", default="float32", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    sizes = [SIZES[1]] if args.quick else SIZES
    repeats = 5 if args.quick else args.repeats
    torch_available = has_torch()
    rows = []
    torch_note = "found" if torch_available else "not installed"
    print(f"{platform.machine()}, {os.cpu_count()} cores, NumPy {np.__version__}, "
          f"{THREADS} threads; torch {torch_note}")
    header = ("| cell | T, B, D, H | dtype | reference (s) | rnnbook (ms) | torch (ms) "
              "| rnnbook/torch | speed-up vs reference | rnnbook GFLOP/s | % of GEMM rate |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for cell in args.cells:
        gates = CELLS[cell][1]
        for size in sizes:
            for dtype in DTYPES:
                reference = spawn("reference", size, dtype, max(1, repeats // 10), cell)
                fast, torch_result = interleaved(size, dtype, repeats, cell, args.rounds,
                                                 torch_available)
                gflops = flops(*size, gates) / fast["seconds"] / 1e9
                row = {
                    "cell": cell, "size": size, "dtype": dtype,
                    "reference_s": reference["seconds"], "rnnbook_s": fast["seconds"],
                    "torch_s": torch_result["seconds"] if torch_result else None,
                    "gflops": gflops, "gemm_gflops": fast["gemm_gflops"],
                }
                rows.append(row)
                ratio = f"{fast['seconds'] / row['torch_s']:.2f}" if torch_result else "n/a"
                torch_ms = f"{1e3 * row['torch_s']:.1f}" if torch_result else "n/a"
                print(f"| {CELLS[cell][0]} | {', '.join(map(str, size))} | {dtype} | "
                      f"{reference['seconds']:.2f} | {1e3 * fast['seconds']:.1f} | {torch_ms} | "
                      f"{ratio} | {reference['seconds'] / fast['seconds']:.0f}x | {gflops:.1f} | "
                      f"{100 * gflops / fast['gemm_gflops']:.0f}% |", flush=True)
    memory = spawn("memory", (1000, 32, 64, 256), "float32", 1)
    print("\nStored for backward at T = 1000 (multiples of one T*B*H array): "
          f"rnnbook cache {memory['rnnbook_cache']:.2f}, rnnbook peak during forward+backward "
          f"{memory['rnnbook_peak']:.2f}"
          + (f", torch saved tensors {memory['torch_saved']:.2f}" if "torch_saved" in memory
             else ""))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"rows": rows, "memory": memory, "numpy": np.__version__,
                       "threads": THREADS, "machine": platform.machine()}, handle, indent=1)


if __name__ == "__main__":
    main()
