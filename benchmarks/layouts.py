"""Why the gated cells use two layouts: time the choices the fast path makes, per step.

Run it from the repository root:

    python benchmarks/layouts.py             # (B, H) = (64, 256), float32
    python benchmarks/layouts.py --batch 32 --hidden 512 --dtype float64

It prints, in microseconds per call, medians of many calls:

* one elementwise product on contiguous (B, H) gate blocks, against the same product on
  strided (B, H) views of (B, 4H) rows: why a step's elementwise work is done gate-major;
* the gradient passed back through W_hh as four products (one per gate) plus sums, against
  one product of a (B, 4H) row with all of W_hh, and the copy that builds the row: why the
  backward pass copies each step's gate gradients into a row.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def microseconds(run, calls: int = 2000) -> float:
    run()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return 1e6 * float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    args = parser.parse_args()
    B, H, dtype = args.batch, args.hidden, np.dtype(args.dtype)
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

    print(f"(B, H) = ({B}, {H}), {dtype}; microseconds per call (median)")
    print(f"elementwise product, contiguous (B, H) blocks     {contiguous:8.1f}")
    print(f"elementwise product, strided views of (B, 4H) rows {strided:8.1f}")
    print(f"dh_next as four per-gate products plus sums        {four:8.1f}")
    print(f"dh_next as one product of a (B, 4H) row with W_hh  {one:8.1f}")
    print(f"copy of a step's gate-major block into its row     {copy:8.1f}")


if __name__ == "__main__":
    main()
