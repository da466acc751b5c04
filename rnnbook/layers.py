"""Layers that hold parameters under PyTorch's names and call the functional core."""

from __future__ import annotations

import numpy as np

from rnnbook import functional as F
from rnnbook._checks import check_choice, check_dtype, check_positive_int

Seed = int | np.random.Generator | None


def make_rng(seed: Seed) -> np.random.Generator:
    """A generator from an int seed, or the generator itself."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def uniform_init(
    shapes: dict[str, tuple[int, ...]], bound: float, dtype: np.dtype, seed: Seed
) -> dict[str, np.ndarray]:
    """PyTorch's default: every parameter drawn from ``U(-bound, bound)``, in order."""
    rng = make_rng(seed)
    return {
        name: rng.uniform(-bound, bound, size=shape).astype(dtype)
        for name, shape in shapes.items()
    }


class RNN:
    """Elman RNN with PyTorch's constructor, parameter names, shapes and initialisation.

    ``h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`` with ``f`` = tanh or ReLU.

    >>> rnn = RNN(input_size=3, hidden_size=5, seed=0)
    >>> out, h_n = rnn.forward(np.zeros((7, 2, 3)))
    >>> out.shape, h_n.shape
    ((7, 2, 5), (1, 2, 5))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bidirectional: bool = False,
        *,
        dtype: type | np.dtype = np.float64,
        seed: Seed = None,
    ) -> None:
        self.input_size = check_positive_int("input_size", input_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.nonlinearity = check_choice("nonlinearity", nonlinearity, F.RNN_NONLINEARITIES)
        self.bidirectional = bool(bidirectional)
        self.dtype = check_dtype(dtype)
        shapes = F.rnn_param_shapes(input_size, hidden_size, num_layers, self.bidirectional)
        self.params: dict[str, np.ndarray] = uniform_init(
            shapes, 1.0 / np.sqrt(hidden_size), self.dtype, seed
        )
        self._cache: F.RNNCache | None = None

    def __repr__(self) -> str:
        return (
            f"RNN({self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
            f"nonlinearity={self.nonlinearity!r}, bidirectional={self.bidirectional}, "
            f"dtype={self.dtype})"
        )

    def forward(
        self, x: np.ndarray, h0: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``x`` ``(T, B, D)``, ``h0`` ``(L * K, B, H)`` or None for zeros.

        Returns ``out`` ``(T, B, K * H)`` and ``h_n`` ``(L * K, B, H)``, and keeps the cache
        that ``backward`` needs.
        """
        out, h_n, self._cache = F.rnn_forward(
            self.params, x, h0, nonlinearity=self.nonlinearity
        )
        return out, h_n


    def backward(
        self, d_out: np.ndarray, d_h_n: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """BPTT for the last ``forward``: ``d_out`` ``(T, B, K * H)``, ``d_h_n`` or None.

        Returns the gradient of every parameter (PyTorch's names), ``"input"`` and ``"h0"``.
        """
        if self._cache is None:
            raise RuntimeError("RNN.backward: call forward first (there is no cache to use)")
        return F.rnn_backward(self.params, self._cache, d_out, d_h_n)

    __call__ = forward
