"""Losses that return ``(loss, gradient)``: the gradient is always that of the loss reported.

Both losses take predictions of shape ``(T, B, C)`` (or any ``(..., C)``) and weigh each
position ``(t, b)``:

* every position (many-to-many: tagging, per-step regression), the default;
* ``last_step=True``: only the last step of each sequence (many-to-one: classification of a
  whole sequence); with a mask, the last *unmasked* step of each sequence;
* ``mask`` ``(T, B)``: positions marked False (padding) do not count at all.

``reduction="mean"`` averages over the positions that count (and, for MSE, over the ``C``
outputs too, as PyTorch does); ``reduction="sum"`` adds them up. The returned gradient has
the shape of the prediction, zero where a position does not count.
"""

from __future__ import annotations

import numpy as np

from rnnbook._checks import check_array, check_choice, check_dtype

REDUCTIONS = ("mean", "sum")


def last_step_weights(shape: tuple[int, ...], mask: np.ndarray | None = None) -> np.ndarray:
    """0/1 weights of shape ``(T, B)`` that select the last (unmasked) step of each column."""
    steps, batch = shape
    weights = np.zeros(shape)
    if mask is None:
        weights[-1] = 1.0
        return weights
    if not mask.any(axis=0).all():
        empty = np.flatnonzero(~mask.any(axis=0)).tolist()
        raise ValueError(f"mask: sequences {empty} have no unmasked step")
    last = steps - 1 - np.argmax(mask[::-1], axis=0)
    weights[last, np.arange(batch)] = 1.0
    return weights


def _position_weights(prediction, mask, last_step):
    """Validate the mask and turn it (and ``last_step``) into weights over positions."""
    positions = prediction.shape[:-1]
    if mask is not None:
        if not isinstance(mask, np.ndarray):
            raise TypeError(f"mask: expected a numpy.ndarray of bool, got {type(mask).__name__}")
        if mask.shape != positions:
            raise ValueError(
                f"mask: expected shape {positions} (the prediction's without its last axis), "
                f"got {mask.shape}"
            )
        if mask.dtype != bool:
            if not np.isin(mask, (0, 1)).all():
                raise ValueError("mask: expected bool or 0/1 values")
            mask = mask.astype(bool)
    if last_step:
        if len(positions) != 2:
            raise ValueError(f"prediction: last_step needs shape (T, B, C), got {prediction.shape}")
        return last_step_weights(positions, mask)
    weights = np.ones(positions) if mask is None else mask.astype(float)
    if not weights.any():
        raise ValueError("mask: every position is masked out; the loss would be undefined")
    return weights


def _check_prediction(prediction):
    if not isinstance(prediction, np.ndarray):
        raise TypeError(f"prediction: expected a numpy.ndarray, got {type(prediction).__name__}")
    dtype = check_dtype(prediction.dtype)
    if prediction.ndim < 2:
        raise ValueError(
            f"prediction: expected shape (..., C) with at least 2 axes, got {prediction.shape}"
        )
    return check_array("prediction", prediction, [None] * prediction.ndim, dtype)


def mse_loss(
    prediction: np.ndarray,
    target: np.ndarray,
    *,
    reduction: str = "mean",
    mask: np.ndarray | None = None,
    last_step: bool = False,
) -> tuple[float, np.ndarray]:
    """Squared error ``sum_c (prediction - target)^2`` over the positions that count.

    ``prediction`` ``(T, B, C)``; ``target`` of the same shape, or ``(B, C)`` with
    ``last_step=True``. Returns ``(loss, d_prediction)``, ``d_prediction`` ``(T, B, C)``
    equal to ``2 (prediction - target)`` at the positions that count, times the reduction's
    scale. Summed or averaged over steps, the loss is eq. :eq:`eq-sequence-loss` of
    :doc:`/book/c_bptt/bptt_derivation` with ``L_t`` the squared error at step ``t``.
    """
    check_choice("reduction", reduction, REDUCTIONS)
    prediction = _check_prediction(prediction)
    weights = _position_weights(prediction, mask, last_step)
    expected = prediction.shape[1:] if last_step else prediction.shape
    target = check_array("target", target, expected, prediction.dtype)
    error = prediction - target  # a (B, C) target broadcasts over T only when last_step
    weighted = error * weights[..., None]
    scale = 1.0 / (weights.sum() * prediction.shape[-1]) if reduction == "mean" else 1.0
    loss = float(scale * np.sum(weighted * error))
    return loss, (2.0 * scale * weighted).astype(prediction.dtype, copy=False)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """``log softmax`` over the last axis, stable for any finite logits (log-sum-exp).

    ``logits`` ``(..., C)``, e.g. ``(T, B, C)``; the result has the same shape:
    ``o_c - max(o) - log sum_c' exp(o_c' - max(o))``, the logarithm of the softmax of
    eq. :eq:`eq-elman-output` of :doc:`/book/a_recurrent_networks/what_is_an_rnn`.
    """
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    """``softmax`` over the last axis, computed without overflow.

    ``logits`` ``(..., C)``; each row of the result sums to 1. The ``y_hat_t`` of
    eq. :eq:`eq-elman-output` of :doc:`/book/a_recurrent_networks/what_is_an_rnn`.
    """
    return np.exp(log_softmax(logits))


def cross_entropy_loss(
    logits: np.ndarray,
    target: np.ndarray,
    *,
    reduction: str = "mean",
    mask: np.ndarray | None = None,
    last_step: bool = False,
) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy ``-log softmax(logits)[target]`` over the positions that count.

    ``logits`` ``(T, B, C)``; ``target`` integer class indices ``(T, B)``, or ``(B,)`` with
    ``last_step=True``. The gradient is ``softmax(logits) - onehot(target)`` at each
    position that counts, scaled by the reduction. Returns ``(loss, d_logits)``,
    ``d_logits`` ``(T, B, C)``.

    That gradient is eq. :eq:`eq-softmax-ce-gradient` of :doc:`/book/c_bptt/walkthrough`;
    averaged over the characters of a text, the loss is eq. :eq:`eq-lm-ce` of
    :doc:`/book/g_practice/language_model`.
    """
    check_choice("reduction", reduction, REDUCTIONS)
    logits = _check_prediction(logits)
    weights = _position_weights(logits, mask, last_step)
    expected = logits.shape[1:-1] if last_step else logits.shape[:-1]
    if not isinstance(target, np.ndarray) or not np.issubdtype(target.dtype, np.integer):
        raise TypeError(
            f"target: expected an integer array of class indices with shape {expected}"
        )
    if target.shape != expected:
        raise ValueError(f"target: expected shape {expected}, got {target.shape}")
    classes = logits.shape[-1]
    if target.size and (target.min() < 0 or target.max() >= classes):
        raise ValueError(
            f"target: class indices must lie in [0, {classes}), "
            f"got [{target.min()}, {target.max()}]"
        )
    target = np.broadcast_to(target, logits.shape[:-1])  # (B,) over T, only when last_step
    log_p = log_softmax(logits)
    picked = np.take_along_axis(log_p, target[..., None], axis=-1)[..., 0]
    scale = 1.0 / weights.sum() if reduction == "mean" else 1.0
    loss = float(-scale * np.sum(weights * picked))
    grad = np.exp(log_p)  # softmax(logits) - onehot(target):
    index = target[..., None]
    np.put_along_axis(grad, index, np.take_along_axis(grad, index, axis=-1) - 1, axis=-1)
    grad *= (scale * weights)[..., None]
    return loss, grad.astype(logits.dtype, copy=False)
