"""Initialisers for the recurrent weights, acting in place like ``torch.nn.init``.

The layers' constructors keep PyTorch's default (every parameter from
``U(-1/sqrt(H), 1/sqrt(H))``); these functions replace it afterwards:

* :func:`orthogonal_` fills a matrix with ``gain * Q`` for a random orthogonal ``Q`` drawn
  from the Haar (uniform) distribution (Saxe, McClelland & Ganguli, 2014);
* :func:`identity_` fills it with ``gain * I`` (the IRNN of Le, Jaitly & Hinton, 2015);
* :func:`init_recurrent` applies one of them to every ``weight_hh_*`` of an ``RNN``, ``LSTM``
  or ``GRU``, one square ``(H, H)`` block per gate;
* :func:`set_forget_bias` sets an LSTM's forget-gate bias.

A gated layer stacks its gates' recurrent matrices in one ``(G * H, H)`` array (LSTM
``G = 4``: i, f, g, o; GRU ``G = 3``: r, z, n). Each gate multiplies ``h_{t-1}`` by its own
block, so :func:`init_recurrent` makes *each block* orthogonal: every gate then sees
``h_{t-1}`` with all singular values ``gain``. (``torch.nn.init.orthogonal_`` on the whole
stacked array gives orthonormal columns instead, ``W^T W = I``, which shares the unit
"energy" among the gates: the blocks' squared Frobenius norms add up to ``H``, so the mean
squared singular value, averaged over the ``G`` blocks, is exactly ``1 / G``. Within a
block the singular values are far from equal: for large ``H`` they spread over
``[0, 2 sqrt(G - 1) / G]``, for ``G = 4`` from near 0 to about ``sqrt(3) / 2 = 0.87``.)
"""

from __future__ import annotations

import numbers

import numpy as np

from rnnbook._checks import SUPPORTED_DTYPES, check_choice, check_positive_int
from rnnbook.layers import GRU, LSTM, RNN, Seed, make_rng

#: The schemes :func:`init_recurrent` knows; "pytorch" redraws PyTorch's default.
SCHEMES = ("orthogonal", "identity", "pytorch")


def _check_matrix(array: object) -> np.ndarray:
    if not isinstance(array, np.ndarray):
        raise TypeError(f"array: expected a numpy.ndarray, got {type(array).__name__}")
    if array.dtype not in SUPPORTED_DTYPES:
        raise TypeError(f"array: expected dtype float32 or float64, got {array.dtype}")
    if array.ndim != 2:
        raise ValueError(f"array: expected a 2-d array (rows, cols), got shape {array.shape}")
    return array


def _check_gain(gain: object) -> float:
    if isinstance(gain, bool) or not isinstance(gain, numbers.Real):
        raise TypeError(f"gain: expected a positive real number, got {type(gain).__name__}")
    if not (np.isfinite(gain) and gain > 0):
        raise ValueError(f"gain: expected a finite positive number, got {gain}")
    return float(gain)


def _row_blocks(array: np.ndarray, blocks: object) -> list[np.ndarray]:
    """Views of ``array`` split into ``blocks`` equal groups of rows (one per gate)."""
    blocks = check_positive_int("blocks", blocks)
    rows = array.shape[0]
    if rows % blocks:
        raise ValueError(
            f"blocks: expected a divisor of the number of rows {rows}, got {blocks}"
        )
    size = rows // blocks
    return [array[k * size:(k + 1) * size] for k in range(blocks)]


def haar_orthogonal(rows: int, cols: int, rng: np.random.Generator) -> np.ndarray:
    """A ``(rows, cols)`` matrix with orthonormal columns (rows >= cols) or rows, Haar-distributed.

    QR of a Gaussian matrix, ``A = Q R``, gives an orthonormal ``Q``, but its distribution
    depends on the sign convention of the QR routine (LAPACK makes ``diag(R)`` of one sign
    pattern, which biases ``Q``). Multiplying column ``j`` of ``Q`` by ``sign(R_jj)`` makes
    the factorisation the unique one with ``R_jj > 0``. Then for any orthogonal ``U``,
    ``U A = (U Q) R`` is again that factorisation, so ``Q(U A) = U Q(A)``; and ``U A`` has the
    distribution of ``A``, so ``U Q`` has the distribution of ``Q``: the Haar measure.
    ``rng`` is a ``numpy.random.Generator``. Used by :func:`~rnnbook.orthogonal_`
    (:doc:`/book/e_remedies/initialisation`).
    """
    tall, short = max(rows, cols), min(rows, cols)
    q, r = np.linalg.qr(rng.standard_normal((tall, short)))
    signs = np.where(np.diag(r) < 0, -1.0, 1.0)  # R_jj = 0 has probability zero
    q *= signs
    return q if rows >= cols else q.T


def orthogonal_(
    array: np.ndarray, gain: float = 1.0, seed: Seed = None, *, blocks: int = 1
) -> np.ndarray:
    """Fill ``array`` ``(rows, cols)`` in place with ``gain`` times a random orthogonal matrix.

    As in ``torch.nn.init.orthogonal_``: a square matrix becomes orthogonal
    (``W^T W = W W^T = gain^2 I``, every singular value ``gain``), a tall one gets orthonormal
    columns, a wide one orthonormal rows. With ``blocks = G`` the rows are split into ``G``
    equal blocks (the gates of a stacked ``(G * H, H)`` weight) and each block gets its own
    matrix, drawn in order from one generator. Returns ``array``.

    With every singular value 1, ``W_hh^T`` keeps the norm of the gradient in
    eq. :eq:`eq-init-linear` of :doc:`/book/e_remedies/initialisation` at every lag.
    """
    _check_matrix(array)
    gain = _check_gain(gain)
    parts = _row_blocks(array, blocks)
    rng = make_rng(seed)
    for part in parts:
        part[...] = gain * haar_orthogonal(*part.shape, rng)
    return array


def identity_(array: np.ndarray, gain: float = 1.0, *, blocks: int = 1) -> np.ndarray:
    """Fill ``array`` in place with ``gain`` times the identity, one block per gate.

    A rectangular block gets ones on its leading diagonal, as ``torch.nn.init.eye_`` does.
    ``array`` ``(rows, cols)``; returns ``array``. With ReLU units and zero biases this is
    the IRNN, whose step Jacobian is the identity (eq. :eq:`eq-init-irnn` of
    :doc:`/book/e_remedies/initialisation`).
    """
    _check_matrix(array)
    gain = _check_gain(gain)
    for part in _row_blocks(array, blocks):
        part[...] = gain * np.eye(*part.shape)
    return array


def _check_layer(layer: object, allowed: tuple[type, ...], name: str = "layer") -> None:
    if not isinstance(layer, allowed):
        expected = " or ".join(cls.__name__ for cls in allowed)
        raise TypeError(f"{name}: expected an rnnbook {expected}, got {type(layer).__name__}")


def _recurrent_weights(layer: RNN | LSTM | GRU) -> dict[str, np.ndarray]:
    """Every ``weight_hh_*`` of the layer, checked to be ``(G * H, H)``: square gate blocks."""
    H, G = layer.hidden_size, layer.gates
    weights = {name: w for name, w in layer.params.items() if name.startswith("weight_hh_")}
    for name, w in weights.items():
        if w.shape != (G * H, H):
            raise ValueError(
                f"{name}: expected shape (G * H, H) = ({G * H}, {H}) so that each of the {G} "
                f"gate blocks is square, got {w.shape}"
            )
    return weights


def init_recurrent(
    layer: RNN | LSTM | GRU,
    scheme: str = "orthogonal",
    *,
    gain: float = 1.0,
    seed: Seed = None,
    zero_bias: bool | None = None,
) -> RNN | LSTM | GRU:
    """Re-initialise every ``weight_hh_*`` of ``layer`` in place, one ``(H, H)`` block per gate.

    The biases change too where the scheme says so (below); ``weight_ih_*`` never does.

    ``scheme``:

    * ``"orthogonal"``: ``gain`` times a Haar-random orthogonal matrix per gate block;
    * ``"identity"``: ``gain * I`` per gate block; for a plain ``RNN`` with ``zero_bias``
      left at ``None``, every bias (``bias_ih_*`` and ``bias_hh_*``) is set to zero too, the
      IRNN recipe of Le, Jaitly & Hinton (2015) for a ReLU RNN. A gated layer keeps its
      biases: zeroing an LSTM's would also zero its forget-gate bias (call
      :func:`set_forget_bias` afterwards if that is what you want);
    * ``"pytorch"``: PyTorch's default again (``gain`` must be 1), to undo another scheme:
      every ``weight_hh_*`` *and every bias* ``bias_ih_*``, ``bias_hh_*`` is redrawn from
      ``U(-1/sqrt(H), 1/sqrt(H))`` (the other schemes change only these arrays).

    ``zero_bias``: ``True``/``False`` forces or forbids zeroing every bias after the scheme
    is applied; ``None`` means ``True`` only for ``"identity"`` on a plain ``RNN``. The input
    weights ``weight_ih_*`` are never touched. With one ``seed`` the ``weight_hh_*`` are drawn
    in the order of ``layer.params``, then (``"pytorch"``) the biases in that order. Returns
    ``layer``. The schemes are compared in :doc:`/book/e_remedies/initialisation`.
    """
    _check_layer(layer, (RNN, LSTM, GRU))
    check_choice("scheme", scheme, SCHEMES)
    gain = _check_gain(gain)
    if scheme == "pytorch" and gain != 1.0:
        raise ValueError(f"gain: the 'pytorch' scheme has no gain (expected 1.0), got {gain}")
    if zero_bias is not None and not isinstance(zero_bias, bool):
        raise TypeError(f"zero_bias: expected True, False or None, got {zero_bias!r}")
    weights = _recurrent_weights(layer)
    rng = make_rng(seed)
    bound = 1.0 / np.sqrt(layer.hidden_size)
    for w in weights.values():
        if scheme == "orthogonal":
            orthogonal_(w, gain, rng, blocks=layer.gates)
        elif scheme == "identity":
            identity_(w, gain, blocks=layer.gates)
        else:
            w[...] = rng.uniform(-bound, bound, size=w.shape)
    biases = [value for name, value in layer.params.items() if name.startswith("bias_")]
    if scheme == "pytorch":  # undo "identity", which may have zeroed them
        for value in biases:
            value[...] = rng.uniform(-bound, bound, size=value.shape)
    if zero_bias is None:  # IRNN: plain RNN only; a gated layer keeps its forget-gate bias
        zero_bias = scheme == "identity" and isinstance(layer, RNN)
    if zero_bias:
        for value in biases:
            value[...] = 0.0
    return layer


def set_forget_bias(lstm: LSTM, value: float = 1.0) -> LSTM:
    """Give every forget gate of ``lstm`` the total bias ``value``, in place.

    PyTorch adds two biases, ``b_if + b_hf``, taken from rows ``H:2H`` of ``bias_ih_*`` and
    ``bias_hh_*``. This sets the ``bias_ih_*`` block to ``value`` and the ``bias_hh_*`` block
    to zero, so that their sum, the only thing the network sees, is exactly ``value`` (setting
    both blocks to ``value`` would give ``2 * value``). Every layer and direction is set;
    the other gates are untouched. Returns ``lstm``. A forget gate near 1 keeps the cell's
    path ``dc_t/dc_{t-1} = diag(f_t)`` (eq. :eq:`eq-cec` of :doc:`/book/f_gated/lstm_gru`)
    open from the start, as :doc:`/book/e_remedies/initialisation` measures.
    """
    _check_layer(lstm, (LSTM,), name="lstm")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"value: expected a real number, got {type(value).__name__}")
    if not np.isfinite(value):
        raise ValueError(f"value: expected a finite number, got {value}")
    H = lstm.hidden_size
    for name, bias in lstm.params.items():
        if name.startswith("bias_ih_"):
            bias[H:2 * H] = value
        elif name.startswith("bias_hh_"):
            bias[H:2 * H] = 0.0
    return lstm
