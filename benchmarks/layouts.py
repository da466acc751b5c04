"""Why the gated cells use two layouts: time the choices the fast path makes, per step.

Run it from the repository root:

    python benchmarks/layouts.py             # (B, H) = (64, 256), float32
    python benchmarks/layouts.py --batch 32 --hidden 512 --dtype float64
    python benchmarks/layouts.py --table     # the (B, H) of benchmarks/bptt.py, both dtypes
    python benchmarks/layouts.py --table --json benchmarks/results/layouts.json

It prints, in microseconds per call, medians of many calls:

* one elementwise product on contiguous (B, H) gate blocks, against the same product on
  strided (B, H) views of (B, 4H) rows: why a step's elementwise work is done gate-major;
* the gradient passed back through W_hh as four products (one per gate) plus sums, against
  one product of a (B, 4H) row with all of W_hh, and the copy that builds the row: why the
  backward pass copies each step's gate gradients into a row.

BLAS runs on one thread unless OPENBLAS_NUM_THREADS says otherwise: these are calls of a
few microseconds, and on a shared machine a second thread mostly adds noise (it waits for a
core); ``OPENBLAS_NUM_THREADS=2`` matches benchmarks/bptt.py. ``--json PATH`` also writes
the rows, with the thread count, NumPy version, machine and load average (``os.getloadavg``)
before and after the run. The book's stored copy is ``rnnbook/data/benchmark_layouts.json``,
identical to ``benchmarks/results/layouts.json``; re-measure both together.
"""

from __future__ import annotations

import os

# BLAS threads are fixed when NumPy loads, so this comes first.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", os.environ["OPENBLAS_NUM_THREADS"])

import argparse
import json
import platform
import time

import numpy as np

#: The (B, H) of the sizes (T, B, D, H) that benchmarks/bptt.py times.
TABLE_SIZES = [(32, 128), (64, 256), (32, 512)]
DTYPES = ["float32", "float64"]


def microseconds(run, calls: int = 2000) -> float:
    run()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return 1e6 * float(np.median(times))


def measure(B: int, H: int, dtype: np.dtype) -> dict:
    """The five timings of one (B, H) and dtype, in microseconds per call."""
    rng = np.random.default_rng(0)
    blocks = rng.normal(size=(4, B, H)).astype(dtype)       # gate-major: (4, B, H)
    rows = rng.normal(size=(B, 4 * H)).astype(dtype)        # side by side: (B, 4H)
    out_block = np.empty((B, H), dtype)
    out_rows = np.empty((B, 4 * H), dtype)
    contiguous = microseconds(lambda: np.multiply(blocks[0], blocks[1], out=out_block))
    strided = microseconds(
        lambda: np.multiply(rows[:, :H], rows[:, H:2 * H], out=out_rows[:, :H]))

    w_hh = rng.normal(size=(4 * H, H)).astype(dtype)
    w_blocks = w_hh.reshape(4, H, H)
    dh = np.empty((B, H), dtype)
    product = np.empty((B, H), dtype)

    def per_gate():
        np.matmul(blocks[0], w_blocks[0], out=dh)
        for k in (1, 2, 3):
            np.matmul(blocks[k], w_blocks[k], out=product)
            np.add(dh, product, out=dh)

    four = microseconds(per_gate, 500)
    one = microseconds(lambda: np.matmul(rows, w_hh, out=dh), 500)
    copy = microseconds(
        lambda: np.copyto(out_rows.reshape(B, 4, H), blocks.transpose(1, 0, 2)))
    return {"batch": B, "hidden": H, "dtype": str(dtype), "contiguous_us": contiguous,
            "strided_us": strided, "four_products_us": four, "one_product_us": one,
            "copy_us": copy}


def report(row: dict) -> None:
    print(f"(B, H) = ({row['batch']}, {row['hidden']}), {row['dtype']}; "
          "microseconds per call (median)")
    print(f"elementwise product, contiguous (B, H) blocks      {row['contiguous_us']:8.1f}")
    print(f"elementwise product, strided views of (B, 4H) rows {row['strided_us']:8.1f}")
    print(f"dh_next as four per-gate products plus sums        {row['four_products_us']:8.1f}")
    print(f"dh_next as one product of a (B, 4H) row with W_hh  {row['one_product_us']:8.1f}")
    print(f"copy of a step's gate-major block into its row     {row['copy_us']:8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--dtype", default="float32", choices=DTYPES)
    parser.add_argument("--table", action="store_true",
                        help="every (B, H) of benchmarks/bptt.py in float32 and float64")
    parser.add_argument("--json", metavar="PATH", help="also write the measurements to PATH")
    args = parser.parse_args()
    if args.table:
        runs = [(B, H, dtype) for dtype in DTYPES for B, H in TABLE_SIZES]
    else:
        runs = [(args.batch, args.hidden, args.dtype)]
    load_before = os.getloadavg()
    rows = []
    for B, H, dtype in runs:
        rows.append(measure(B, H, np.dtype(dtype)))
        report(rows[-1])
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"rows": rows, "threads": int(os.environ["OPENBLAS_NUM_THREADS"]),
                       "numpy": np.__version__, "machine": platform.machine(),
                       "load_average_before": [round(v, 2) for v in load_before],
                       "load_average_after": [round(v, 2) for v in os.getloadavg()]},
                      handle, indent=1)


if __name__ == "__main__":
    main()
