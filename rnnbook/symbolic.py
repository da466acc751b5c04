"""SymPy helpers that several chapters and the tests share.

They build small unrolled networks as exact expressions, so that SymPy can differentiate
them and act as an independent witness for the gradients that BPTT computes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy as sp


def matrix_symbol(name: str, rows: int, cols: int) -> sp.Matrix:
    """A ``rows x cols`` matrix of real scalar symbols ``name_ij`` (``name_i`` for a column)."""
    if cols == 1:
        return sp.Matrix(rows, 1, lambda i, _: sp.Symbol(f"{name}_{i}", real=True))
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i}{j}", real=True))


def unrolled_rnn(
    W_ih: sp.Matrix,
    W_hh: sp.Matrix,
    b: sp.Matrix,
    xs: Sequence[sp.Matrix],
    h0: sp.Matrix,
    f: Callable[[sp.Expr], sp.Expr] = sp.tanh,
) -> list[sp.Matrix]:
    """The hidden states ``[h_1, ..., h_T]`` of ``h_t = f(W_ih x_t + W_hh h_{t-1} + b)``.

    Each ``h_t`` is an explicit expression in the entries of the weights, the inputs and
    ``h_0``: the unrolled graph, ready for ``sympy.diff``.
    """
    states, h = [], h0
    for x in xs:
        h = (W_ih * x + W_hh * h + b).applyfunc(f)
        states.append(h)
    return states


def gradient(expression: sp.Expr, matrix: sp.Matrix) -> sp.Matrix:
    """``d expression / d matrix``, entry by entry, with the matrix's shape."""
    return matrix.applyfunc(lambda entry: sp.diff(expression, entry))
