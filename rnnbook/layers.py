"""Layers that hold parameters under PyTorch's names and call the functional core.

Every layer has ``params`` (a dict of arrays under PyTorch's names, nothing else),
``forward`` and ``backward``. ``backward`` returns the parameter gradients under the same
names plus the non-parameter entries of :data:`NON_PARAMETER_KEYS`.
"""

from __future__ import annotations

import numpy as np

from rnnbook import functional as F
from rnnbook._checks import check_choice, check_dtype, check_positive_int
from rnnbook.gru import gru_backward, gru_forward
from rnnbook.lstm import lstm_backward, lstm_forward

Seed = int | np.random.Generator | None

#: Gradient entries that are not parameters: of the input and of the initial states.
NON_PARAMETER_KEYS = ("input", "h0", "c0")


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


class _Recurrent:
    """What the recurrent layers share: PyTorch's sizes, names, dtype and initialisation."""

    gates = 1
    cell_name = "RNN"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        *,
        dtype: type | np.dtype = np.float64,
        seed: Seed = None,
    ) -> None:
        self.input_size = check_positive_int("input_size", input_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.bidirectional = bool(bidirectional)
        self.dtype = check_dtype(dtype)
        shapes = F.rnn_param_shapes(
            input_size, hidden_size, num_layers, self.bidirectional, gates=self.gates
        )
        self.params: dict[str, np.ndarray] = uniform_init(
            shapes, 1.0 / np.sqrt(hidden_size), self.dtype, seed
        )
        self._cache = None

    def _options(self) -> str:
        """Constructor options beyond the shared ones, as ``"name=value, "`` text."""
        return ""

    def __repr__(self) -> str:
        return (f"{self.cell_name}({self.input_size}, {self.hidden_size}, "
                f"num_layers={self.num_layers}, {self._options()}"
                f"bidirectional={self.bidirectional}, dtype={self.dtype})")

    def _cache_or_fail(self):
        if self._cache is None:
            raise RuntimeError(
                f"{self.cell_name}.backward: call forward first (there is no cache to use)"
            )
        return self._cache


class RNN(_Recurrent):
    """Elman RNN with PyTorch's constructor, parameter names, shapes and initialisation.

    ``h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`` with ``f`` = tanh or ReLU: eq.
    :eq:`eq-elman-cell` of :doc:`/book/a_recurrent_networks/what_is_an_rnn`, computed by
    :func:`~rnnbook.rnn_forward` and differentiated by :func:`~rnnbook.rnn_backward`.

    ``input_size`` is ``D``, the features of each ``x_t``; ``hidden_size`` is ``H``;
    ``num_layers`` is ``L``; ``bidirectional`` gives ``K = 2`` directions (else ``K = 1``).
    ``dtype`` is float32 or float64 and ``seed`` an int, a ``numpy.random.Generator`` or
    None. Every parameter is drawn from ``U(-1/sqrt(H), 1/sqrt(H))``, as PyTorch does.
    ``nonlinearity`` is ``f``, ``"tanh"`` or ``"relu"``. ``params`` holds the arrays of
    :func:`~rnnbook.rnn_param_shapes`: ``weight_ih_l0`` ``(H, D)``, ``weight_hh_l0``
    ``(H, H)``, ``bias_ih_l0`` and ``bias_hh_l0`` ``(H,)``, and so on for each layer and
    direction.

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
        self.nonlinearity = check_choice("nonlinearity", nonlinearity, F.RNN_NONLINEARITIES)
        super().__init__(input_size, hidden_size, num_layers, bidirectional,
                         dtype=dtype, seed=seed)

    def _options(self) -> str:
        return f"nonlinearity={self.nonlinearity!r}, "

    def forward(
        self, x: np.ndarray, h0: np.ndarray | None = None, *, segment: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``x`` ``(T, B, D)``, ``h0`` ``(L * K, B, H)`` or None for zeros.

        Returns ``out`` ``(T, B, K * H)`` and ``h_n`` ``(L * K, B, H)``, and keeps the cache
        that ``backward`` needs. ``segment`` is the length ``k`` of the segments that group
        the work of this pass and of ``backward`` (by default :func:`~rnnbook.sqrt_segment`
        ``(T)``); with the same ``k`` as a :class:`~rnnbook.Checkpointed` layer, the two give
        the same numbers bit for bit.
        """
        out, h_n, self._cache = F.rnn_forward(
            self.params, x, h0, nonlinearity=self.nonlinearity, recycle=self._cache,
            segment=segment,
        )
        return out, h_n

    def backward(
        self, d_out: np.ndarray, d_h_n: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """BPTT for the last ``forward``: ``d_out`` ``(T, B, K * H)``, ``d_h_n`` or None.

        Returns the gradient of every parameter (PyTorch's names), ``"input"`` and ``"h0"``.
        """
        return F.rnn_backward(self.params, self._cache_or_fail(), d_out, d_h_n)

    __call__ = forward


class LSTM(_Recurrent):
    """LSTM with PyTorch's constructor, gate order (i, f, g, o), names and shapes.

    Eq. :eq:`eq-lstm` of :doc:`/book/f_gated/lstm_gru`, computed by
    :func:`~rnnbook.lstm_forward` and differentiated by :func:`~rnnbook.lstm_backward`.
    ``forward(x, (h0, c0))`` returns ``out, (h_n, c_n)``; ``backward(d_out, (d_h_n, d_c_n))``
    returns every parameter's gradient plus ``"input"``, ``"h0"`` and ``"c0"``.

    ``input_size`` is ``D``, the features of each ``x_t``; ``hidden_size`` is ``H``;
    ``num_layers`` is ``L``; ``bidirectional`` gives ``K = 2`` directions (else ``K = 1``).
    ``dtype`` is float32 or float64 and ``seed`` an int, a ``numpy.random.Generator`` or
    None. Every parameter is drawn from ``U(-1/sqrt(H), 1/sqrt(H))``, as PyTorch does.
    ``params`` holds the arrays of :func:`~rnnbook.rnn_param_shapes` with ``gates=4``:
    ``weight_ih_l0`` ``(4H, D)``, ``weight_hh_l0`` ``(4H, H)``, biases ``(4H,)``, and so on.
    """

    gates = 4
    cell_name = "LSTM"

    def forward(self, x, state=None, *, segment=None):
        """``x`` ``(T, B, D)``; ``state`` ``(h0, c0)``, each ``(L * K, B, H)``, or None.
        ``segment`` as for :meth:`RNN.forward`."""
        out, state_n, self._cache = lstm_forward(self.params, x, state, recycle=self._cache,
                                                 segment=segment)
        return out, state_n

    def backward(self, d_out, d_state=None):
        """BPTT for the last ``forward``; ``d_state`` is ``(d_h_n, d_c_n)`` or None."""
        return lstm_backward(self.params, self._cache_or_fail(), d_out, d_state)

    __call__ = forward


class GRU(_Recurrent):
    """GRU with PyTorch's constructor, gate order (r, z, n), names and shapes.

    Eq. :eq:`eq-gru` of :doc:`/book/f_gated/lstm_gru`, with
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))`` as in PyTorch, computed by
    :func:`~rnnbook.gru_forward` and differentiated by :func:`~rnnbook.gru_backward`.

    ``input_size`` is ``D``, the features of each ``x_t``; ``hidden_size`` is ``H``;
    ``num_layers`` is ``L``; ``bidirectional`` gives ``K = 2`` directions (else ``K = 1``).
    ``dtype`` is float32 or float64 and ``seed`` an int, a ``numpy.random.Generator`` or
    None. Every parameter is drawn from ``U(-1/sqrt(H), 1/sqrt(H))``, as PyTorch does.
    ``params`` holds the arrays of :func:`~rnnbook.rnn_param_shapes` with ``gates=3``:
    ``weight_ih_l0`` ``(3H, D)``, ``weight_hh_l0`` ``(3H, H)``, biases ``(3H,)``, and so on.
    """

    gates = 3
    cell_name = "GRU"

    def forward(self, x, h0=None, *, segment=None):
        """``x`` ``(T, B, D)``, ``h0`` ``(L * K, B, H)`` or None; returns ``out, h_n``.
        ``segment`` as for :meth:`RNN.forward`."""
        out, h_n, self._cache = gru_forward(self.params, x, h0, recycle=self._cache,
                                            segment=segment)
        return out, h_n

    def backward(self, d_out, d_h_n=None):
        """BPTT for the last ``forward``: parameters, ``"input"`` and ``"h0"``."""
        return gru_backward(self.params, self._cache_or_fail(), d_out, d_h_n)

    __call__ = forward


class Linear:
    """Readout ``o = x W^T + b`` applied to the last axis, like ``torch.nn.Linear``.

    The output layer ``o_t = W_ho h_t + b_o`` of eq. :eq:`eq-elman-output` of
    :doc:`/book/a_recurrent_networks/what_is_an_rnn` (before its softmax), computed by
    :func:`~rnnbook.linear_forward` and differentiated by :func:`~rnnbook.linear_backward`.
    ``in_features`` is ``H`` (``K * H`` after a bidirectional layer) and ``out_features``
    is ``C``, the number of outputs; ``dtype`` and ``seed`` as for :class:`~rnnbook.RNN`.

    ``params``: ``weight`` ``W_ho`` ``(out_features, in_features)`` and ``bias`` ``b_o``
    ``(out_features,)``, drawn from ``U(-1/sqrt(in_features), 1/sqrt(in_features))`` as
    PyTorch does.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        dtype: type | np.dtype = np.float64,
        seed: Seed = None,
    ) -> None:
        self.in_features = check_positive_int("in_features", in_features)
        self.out_features = check_positive_int("out_features", out_features)
        self.dtype = check_dtype(dtype)
        shapes = {"weight": (out_features, in_features), "bias": (out_features,)}
        self.params = uniform_init(shapes, 1.0 / np.sqrt(in_features), self.dtype, seed)
        self._x: np.ndarray | None = None

    def __repr__(self) -> str:
        return f"Linear({self.in_features}, {self.out_features}, dtype={self.dtype})"

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``x`` ``(..., in_features)`` -> ``(..., out_features)``; keeps ``x`` for backward."""
        out = F.linear_forward(self.params, x)
        self._x = x
        return out

    def backward(self, d_out: np.ndarray) -> dict[str, np.ndarray]:
        """Gradients of ``weight``, ``bias`` and ``"input"`` for the last ``forward``."""
        if self._x is None:
            raise RuntimeError("Linear.backward: call forward first (there is no cache to use)")
        return F.linear_backward(self.params, self._x, d_out)

    __call__ = forward


class Sequential:
    """Layers applied in turn; a recurrent layer passes on its output sequence only.

    ``params`` and the gradients use PyTorch's ``nn.Sequential`` keys (``"0.weight_ih_l0"``,
    ``"1.weight"``, ...), and ``params`` holds the layers' own arrays, so an optimiser that
    updates it in place updates the layers.

    >>> model = Sequential(RNN(1, 8, seed=0), Linear(8, 1, seed=1))
    >>> y = model.forward(np.zeros((5, 2, 1)))          # (T, B, 1)
    >>> grads = model.backward(np.ones_like(y))         # "0.weight_hh_l0", ..., "input"
    """

    def __init__(self, *layers: RNN | LSTM | GRU | Linear) -> None:
        if not layers:
            raise ValueError("layers: expected at least one layer")
        self.layers = layers
        #: The gradients of the last ``backward``, under the keys of ``params``.
        self.grads: dict[str, np.ndarray] = {}

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential({inner}\n)"

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Every layer's parameters under the key ``"{i}.{name}"`` (``"0.weight_ih_l0"``,
        ``"1.weight"``, ...), in layer order, each with its layer's shape. The dict is new at
        each access but holds the layers' own arrays, not copies."""
        return {
            f"{i}.{name}": value
            for i, layer in enumerate(self.layers)
            for name, value in layer.params.items()
        }

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Each layer's ``forward`` in turn: ``x`` ``(T, B, D)`` -> the last layer's output,
        ``(T, B, C)`` for a final ``Linear(H, C)``. A recurrent layer starts from a zero
        state and passes on ``out`` ``(T, B, K * H)``; its final state is dropped."""
        for layer in self.layers:
            x = layer.forward(x)
            if isinstance(x, tuple):  # a recurrent layer returns (out, final state)
                x = x[0]
        return x

    def backward(self, d_out: np.ndarray) -> dict[str, np.ndarray]:
        """Gradients of every parameter under its prefixed name, and of the ``"input"``."""
        grads: dict[str, np.ndarray] = {}
        for i in range(len(self.layers) - 1, -1, -1):
            layer_grads = self.layers[i].backward(d_out)
            d_out = layer_grads["input"]
            for name in self.layers[i].params:
                grads[f"{i}.{name}"] = layer_grads[name]
        ordered = {name: grads[name] for name in self.params}
        ordered["input"] = d_out
        self.grads = ordered
        return ordered

    __call__ = forward
