"""A linear recurrent layer with input gates, in the spirit of minGRU and Mamba's selection.

The gate and the candidate depend on the input only, never on the state:

    c_t = σ(W_ic x_t + b_ic)               keep gate, in (0, 1)
    v_t = W_iv x_t + b_iv                  candidate
    h_t = c_t ⊙ h_{t-1} + (1 - c_t) ⊙ v_t

so the state follows the linear recurrence ``h_t = b_t + c_t ⊙ h_{t-1}`` with
``b_t = (1 - c_t) ⊙ v_t``, and all ``T`` states come out of one scan
(:func:`rnnbook.scan.linear_recurrence`). The write gate ``1 - c_t`` is computed as
``σ(-z)``, never by subtraction: near ``c_t = 1``, where the layer remembers longest,
``1 - c_t`` would lose its digits (in float32 it is exactly 0 from ``z = 18`` on, and the
unit would stop writing and stop learning). There is no ``W_hh``: the price of the scan is that
nothing the layer has stored can influence what it keeps (Feng et al., 2024, call the same
layer minGRU, with ``z_t = 1 - c_t``).

Parameters follow PyTorch's naming for stacked gates: ``weight_ih_l0`` ``(2H, D)`` and
``bias_ih_l0`` ``(2H,)`` hold the gate block (rows ``0:H``) then the candidate block
(rows ``H:2H``), drawn from ``U(-1/sqrt(H), 1/sqrt(H))`` as PyTorch's recurrent layers are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnbook._checks import (
    SUPPORTED_DTYPES,
    check_array,
    check_choice,
    check_dtype,
    check_positive_int,
)
from rnnbook.layers import Seed, uniform_init
from rnnbook.scan import DEFAULT_METHOD, METHODS, linear_recurrence, linear_recurrence_backward

#: The parameter names, PyTorch-style (one layer, one direction, no recurrent weight).
PARAM_NAMES = ("weight_ih_l0", "bias_ih_l0")


@dataclass(frozen=True)
class LinearRecurrentCache:
    """What BPTT keeps: the input ``x`` ``(T, B, D)``, the keep gates ``c``, the write gates
    ``write`` = 1 - c and the candidates ``v`` ``(T, B, H)``, the states ``out``
    ``(T, B, H)`` and the initial state ``h0`` ``(B, H)`` (None for zeros)."""

    x: np.ndarray
    c: np.ndarray
    write: np.ndarray
    v: np.ndarray
    out: np.ndarray
    h0: np.ndarray | None
    method: str


def gates(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``σ(z)`` and ``σ(-z) = 1 - σ(z)``, each to full relative precision, for any ``z``.

    Both come from ``e = exp(-|z|)``, which lies in (0, 1] and never overflows: the larger of
    the two is ``1 / (1 + e)``, the smaller ``e / (1 + e)``. Subtracting ``1 - σ(z)`` instead
    loses the small one's digits when ``σ(z)`` is near 1 (in float32: a relative error of
    8e-4 at z = 12, 6% at z = 16, 44% at z = 17, and exactly 0 from z = 18). ``z`` of any
    shape; both results have its shape: the keep gate ``c_t`` and the write gate
    ``1 - c_t`` of eq. :eq:`eq-linear-recurrent` of :doc:`/book/d_gradients/parallel_scan`.
    """
    with np.errstate(under="ignore"):  # e and the small gate may underflow to 0: correctly
        e = np.exp(-np.abs(z))
        larger = 1 / (1 + e)
        smaller = e * larger
    positive = z >= 0
    return np.where(positive, larger, smaller), np.where(positive, smaller, larger)


def _check_params(params: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    missing = [name for name in PARAM_NAMES if name not in params]
    if missing:
        raise ValueError(f"params: expected the keys {PARAM_NAMES}, missing {missing}")
    weight, bias = params["weight_ih_l0"], params["bias_ih_l0"]
    if not isinstance(weight, np.ndarray) or weight.ndim != 2 or weight.shape[0] % 2:
        raise ValueError(f"weight_ih_l0: expected shape (2H, D), got "
                         f"{getattr(weight, 'shape', type(weight).__name__)}")
    if weight.dtype not in SUPPORTED_DTYPES:
        raise TypeError(f"weight_ih_l0: expected float32 or float64, got {weight.dtype}")
    dtype = weight.dtype
    check_array("bias_ih_l0", bias, (weight.shape[0],), dtype, axes="(2H,)")
    return weight, bias


def linear_recurrent_forward(
    params: dict[str, np.ndarray],
    x: np.ndarray,
    h0: np.ndarray | None = None,
    *,
    method: str = DEFAULT_METHOD,
) -> tuple[np.ndarray, np.ndarray, LinearRecurrentCache]:
    """``x`` ``(T, B, D)``, ``h0`` ``(1, B, H)`` or None -> ``out`` ``(T, B, H)``,
    ``h_n`` ``(1, B, H)`` and the cache for :func:`linear_recurrent_backward`.

    The projections of all steps are one matrix product; the recurrence is one scan.
    Computes eq. :eq:`eq-linear-recurrent` of :doc:`/book/d_gradients/parallel_scan` for
    ``t = 1 .. T``.
    """
    weight, bias = _check_params(params)
    check_choice("method", method, METHODS)
    two_h, features = weight.shape
    hidden = two_h // 2
    x = check_array("x", x, (None, None, features), weight.dtype, axes="(T, B, D)")
    steps, batch, _ = x.shape
    start = None
    if h0 is not None:
        start = check_array("h0", h0, (1, batch, hidden), weight.dtype, axes="(1, B, H)")[0]
    projected = (x.reshape(-1, features) @ weight.T + bias).reshape(steps, batch, two_h)
    c, write = gates(projected[..., :hidden])
    v = np.ascontiguousarray(projected[..., hidden:])
    out = linear_recurrence(c, write * v, start, method=method)
    cache = LinearRecurrentCache(x=x, c=c, write=write, v=v, out=out, h0=start, method=method)
    return out, out[-1:].copy(), cache


def linear_recurrent_backward(
    params: dict[str, np.ndarray],
    cache: LinearRecurrentCache,
    d_out: np.ndarray,
    d_h_n: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """BPTT: one reverse scan for the states, then the gates' local derivatives.

    ``d_out`` ``(T, B, H)`` and ``d_h_n`` ``(1, B, H)`` or None. Returns the gradients of
    ``weight_ih_l0``, ``bias_ih_l0``, ``"input"`` ``(T, B, D)`` and ``"h0"`` ``(1, B, H)``.
    The reverse scan is eq. :eq:`eq-scan-backward` of :doc:`/book/d_gradients/parallel_scan`
    with ``c_t`` the keep gates.
    """
    weight, _ = _check_params(params)
    c, write, v, x = cache.c, cache.write, cache.v, cache.x
    d_out = check_array("d_out", d_out, c.shape, c.dtype, axes="(T, B, H)")
    if d_h_n is not None:
        d_h_n = check_array("d_h_n", d_h_n, (1, *c.shape[1:]), c.dtype, axes="(1, B, H)")
        d_out = d_out.copy()
        d_out[-1] += d_h_n[0]  # h_n is the last state: its gradient joins that step's
    grads = linear_recurrence_backward(c, cache.out, d_out, cache.h0, method=cache.method)
    d_b, d_c = grads["b"], grads["c"]
    # b = (1 - c) v: d_v = d_b (1 - c); c also enters b, so d_c gains -d_b v; then through
    # the sigmoid, σ' = c (1 - c). Every 1 - c is the write gate as computed, not a
    # subtraction (see gates).
    d_projected = np.concatenate(
        [(d_c - d_b * v) * c * write, d_b * write], axis=-1
    ).reshape(-1, weight.shape[0])
    features = weight.shape[1]
    return {
        "weight_ih_l0": d_projected.T @ x.reshape(-1, features),
        "bias_ih_l0": d_projected.sum(axis=0),
        "input": (d_projected @ weight).reshape(x.shape),
        "h0": grads["a0"][None],
    }


class LinearRecurrent:
    """The input-gated linear recurrent layer, with ``params``, ``forward`` and ``backward``
    like :class:`rnnbook.RNN` (one layer, one direction).

    It computes eq. :eq:`eq-linear-recurrent` of :doc:`/book/d_gradients/parallel_scan`:
    ``x`` ``(T, B, D)`` to ``out`` ``(T, B, H)``, with ``weight_ih_l0`` ``(2H, D)`` and
    ``bias_ih_l0`` ``(2H,)`` and no ``weight_hh``.

    >>> layer = LinearRecurrent(input_size=2, hidden_size=4, seed=0)
    >>> out, h_n = layer.forward(np.zeros((10, 3, 2)))
    >>> out.shape, h_n.shape
    ((10, 3, 4), (1, 3, 4))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        dtype: type | np.dtype = np.float64,
        seed: Seed = None,
        method: str = DEFAULT_METHOD,
    ) -> None:
        self.input_size = check_positive_int("input_size", input_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.dtype = check_dtype(dtype)
        self.method = check_choice("method", method, METHODS)
        shapes = {"weight_ih_l0": (2 * hidden_size, input_size), "bias_ih_l0": (2 * hidden_size,)}
        self.params: dict[str, np.ndarray] = uniform_init(
            shapes, 1.0 / np.sqrt(hidden_size), self.dtype, seed
        )
        self._cache: LinearRecurrentCache | None = None

    def __repr__(self) -> str:
        return (f"LinearRecurrent({self.input_size}, {self.hidden_size}, dtype={self.dtype}, "
                f"method={self.method!r})")

    def forward(
        self, x: np.ndarray, h0: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``x`` ``(T, B, D)``, ``h0`` ``(1, B, H)`` or None; returns ``out``, ``h_n``."""
        out, h_n, self._cache = linear_recurrent_forward(self.params, x, h0, method=self.method)
        return out, h_n

    def backward(
        self, d_out: np.ndarray, d_h_n: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """BPTT for the last ``forward``: parameter gradients, ``"input"`` and ``"h0"``."""
        if self._cache is None:
            raise RuntimeError(
                "LinearRecurrent.backward: call forward first (there is no cache to use)"
            )
        return linear_recurrent_backward(self.params, self._cache, d_out, d_h_n)

    __call__ = forward
