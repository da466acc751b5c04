"""A character model at work: its logits on a text, samples from it, its held-out loss.

A *model* here is a recurrent layer (:class:`~rnnbook.RNN`, :class:`~rnnbook.LSTM`,
:class:`~rnnbook.GRU`) followed by :class:`~rnnbook.Linear` read-outs in a
:class:`~rnnbook.Sequential` (or a recurrent layer alone, whose outputs are then the logits).
It reads one-hot characters ``(T, B, V)`` and writes logits ``(T, B, V)``: the logits at step
``t`` score the character at step ``t + 1``.

* :func:`forward_ids`: the logits of an id sequence, from a given state, and the final state;
* :func:`softmax_with_temperature`: ``softmax(logits / temperature)``, and at temperature 0
  the one-hot distribution on the argmax (greedy decoding);
* :func:`sample`: generate text one character at a time, each sampled character fed back as
  the next input;
* :func:`evaluate`: the mean cross-entropy, in nats per character, of a held-out text.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rnnbook._checks import check_positive_int
from rnnbook.bptt import split_model
from rnnbook.layers import GRU, LSTM, RNN, Linear, Seed, make_rng
from rnnbook.losses import log_softmax
from rnnbook.tasks import one_hot

#: A recurrent layer's state: ``h`` ``(L, B, H)``, or ``(h, c)`` for an LSTM; None for zeros.
State = Any


def _parts(model: object) -> tuple[RNN | LSTM | GRU, tuple[Linear, ...]]:
    """The model's recurrent layer and its read-outs, or a TypeError saying what is allowed."""
    network = split_model(model)  # the same models as the BPTT schemes accept
    recurrent, readouts = network.recurrent, tuple(layer for _, layer in network.readouts)
    if recurrent.bidirectional:
        # A left-to-right reader of text cannot see the characters it has not written yet.
        raise ValueError(
            "model: a bidirectional layer reads the sequence from the end too, so it cannot "
            "score or generate text one character at a time; use a unidirectional layer"
        )
    return recurrent, readouts


def _classes(recurrent: RNN | LSTM | GRU, readouts: tuple[Linear, ...]) -> int:
    return readouts[-1].out_features if readouts else recurrent.hidden_size


def _check_ids(name: str, ids: object, size: int) -> np.ndarray:
    """A 1-d ``(T,)`` or 2-d ``(T, B)`` integer array with values in ``[0, size)``."""
    if not isinstance(ids, np.ndarray) or not np.issubdtype(ids.dtype, np.integer):
        kind = type(ids).__name__ + (f" of {ids.dtype}" if isinstance(ids, np.ndarray) else "")
        raise TypeError(f"{name}: expected an integer numpy.ndarray of ids, got {kind}")
    if ids.ndim not in (1, 2):
        raise ValueError(f"{name}: expected shape (T,) or (T, B), got {ids.shape}")
    if ids.shape[0] == 0 or ids.size == 0:
        raise ValueError(f"{name}: expected at least one id, got shape {ids.shape}")
    if ids.min() < 0 or ids.max() >= size:
        raise ValueError(
            f"{name}: expected ids in [0, {size}), "
            f"got [{ids.min()}, {ids.max()}]"
        )
    return ids


def _run(
    recurrent: RNN | LSTM | GRU, readouts: tuple[Linear, ...], ids: np.ndarray, state: State
) -> tuple[np.ndarray, State]:
    """Logits ``(T, B, C)`` and final state for ids ``(T, B)``, starting from ``state``."""
    out, state = recurrent.forward(one_hot(ids, recurrent.input_size, recurrent.dtype), state)
    for layer in readouts:
        out = layer.forward(out)
    return out, state


def forward_ids(
    model: object, ids: np.ndarray, state: State = None
) -> tuple[np.ndarray, State]:
    """The logits of the characters ``ids`` and the state after the last one.

    ``ids`` ``(T,)`` or ``(T, B)``; returns logits ``(T, V)`` or ``(T, B, V)`` (row ``t``
    scores the character that follows ``ids[t]``) and the recurrent layer's final state
    (``h_n`` ``(L, B, H)``, or ``(h_n, c_n)`` for an LSTM; ``B = 1`` for 1-d ``ids``), the
    ``state`` from which to read on. ``state`` None means zeros. The model reads
    ``one_hot(ids)`` ``(T, B, V)``, as in :doc:`/book/g_practice/language_model`.
    """
    recurrent, readouts = _parts(model)
    ids = _check_ids("ids", ids, recurrent.input_size)
    logits, state = _run(recurrent, readouts, ids.reshape(ids.shape[0], -1), state)
    return (logits[:, 0] if ids.ndim == 1 else logits), state


def _check_temperature(temperature: object) -> float:
    if isinstance(temperature, bool) or not isinstance(temperature, int | float | np.floating
                                                       | np.integer):
        raise TypeError(
            f"temperature: expected a number >= 0, got {type(temperature).__name__}"
        )
    if not (math.isfinite(temperature) and temperature >= 0):
        raise ValueError(f"temperature: expected a finite number >= 0, got {temperature}")
    return float(temperature)


def softmax_with_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(logits / temperature)`` over the last axis, in float64.

    Temperature 1 is the model's own distribution; below 1 it is sharper, above 1 flatter.
    At temperature 0 (the limit) all the mass goes to the largest logit (the first one, if
    several are equal): greedy decoding. ``logits`` ``(..., V)``; the result has the same
    shape and sums to 1 over the last axis: eq. :eq:`eq-lm-temperature` of
    :doc:`/book/g_practice/language_model`, with ``temperature`` as its ``ϑ``.
    """
    temperature = _check_temperature(temperature)
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim == 0 or logits.shape[-1] == 0:
        raise ValueError(f"logits: expected at least one class on the last axis, got shape "
                         f"{logits.shape}")
    if not np.all(np.isfinite(logits)):
        raise ValueError("logits: contains NaN or inf")
    if temperature == 0:
        return one_hot(np.asarray(np.argmax(logits, axis=-1)), logits.shape[-1])
    # Shifted so the largest logit is 0: at a tiny temperature the others overflow to -inf,
    # whose exp is an exact 0, instead of every logit to +inf and NaN probabilities.
    shifted = logits - logits.max(axis=-1, keepdims=True)
    with np.errstate(over="ignore"):
        scaled = shifted / temperature
    return np.exp(log_softmax(scaled))


def _draw(logits: np.ndarray, temperature: float, rng: np.random.Generator) -> np.ndarray:
    """One class per row of ``logits`` ``(B, V)``, drawn from the tempered softmax."""
    if temperature == 0:
        return np.argmax(logits, axis=-1)
    cumulative = np.cumsum(softmax_with_temperature(logits, temperature), axis=-1)
    # Inverse-CDF draw: the first class whose cumulative mass exceeds u * total. "<=" skips
    # classes of zero probability even when u is exactly 0; scaling by the total keeps a
    # rounding shortfall of the sum below 1 from running past the last class.
    u = rng.random(logits.shape[0])[:, None] * cumulative[:, -1:]
    return np.sum(cumulative <= u, axis=-1)


def sample(
    model: object,
    prompt: np.ndarray,
    length: int,
    *,
    temperature: float = 1.0,
    seed: Seed = None,
    state: State = None,
) -> np.ndarray:
    """Generate ``length`` characters after ``prompt``, one at a time.

    The model first reads the ``prompt`` ids ``(P,)`` (or ``(P, B)`` for ``B`` independent
    samples) from ``state`` (None: zeros); then, at every step, a character is drawn from
    ``softmax(logits / temperature)`` (:func:`softmax_with_temperature`) and fed back as the
    next input, the state carried from step to step. ``temperature=0`` takes the argmax
    (greedy decoding, no randomness). Returns the generated ids only, int64 ``(length,)`` or
    ``(length, B)``; the same ``seed`` gives the same text. Sampling at a temperature is
    eq. :eq:`eq-lm-temperature` of :doc:`/book/g_practice/language_model`.
    """
    recurrent, readouts = _parts(model)
    classes = _classes(recurrent, readouts)
    if classes != recurrent.input_size:
        raise ValueError(
            f"model: a sampled character is fed back as the next input, so the number of "
            f"output classes must equal the input size; got {classes} classes and input "
            f"size {recurrent.input_size}"
        )
    prompt = _check_ids("prompt", prompt, classes)
    length = check_positive_int("length", length)
    temperature = _check_temperature(temperature)
    rng = make_rng(seed)
    columns = prompt.reshape(prompt.shape[0], -1)
    logits, state = _run(recurrent, readouts, columns, state)
    out = np.empty((length, columns.shape[1]), dtype=np.int64)
    for t in range(length):
        out[t] = _draw(logits[-1], temperature, rng)
        if t + 1 < length:  # the last character need not be read
            logits, state = _run(recurrent, readouts, out[t:t + 1], state)
    return out[:, 0] if prompt.ndim == 1 else out


def evaluate(model: object, ids: np.ndarray, *, tracks: int = 1, chunk: int = 1000) -> float:
    """Mean cross-entropy of the model on the text ``ids`` ``(N,)``, in nats per character.

    The text is cut into ``tracks`` contiguous tracks of ``L = (N - 1) // tracks`` characters
    read side by side as one batch; each track starts from the zero state and predicts its
    next ``L`` characters, with the state carried through the whole track (in ``chunk``-step
    pieces, which bounds memory, not context). So ``tracks * L`` predictions are averaged,
    ``-mean log p(ids[i + 1] | ids[..i] of its track)``; ``exp`` of the result is the
    perplexity. More tracks run faster but start more predictions without context.
    Eq. :eq:`eq-lm-ce` of :doc:`/book/g_practice/language_model`, whose ``exp`` is the
    perplexity of eq. :eq:`eq-lm-ppl`.
    """
    recurrent, readouts = _parts(model)
    classes = _classes(recurrent, readouts)
    # Every id is read as an input and (but the first) predicted as a class.
    ids = _check_ids("ids", ids, min(recurrent.input_size, classes))
    if ids.ndim != 1:
        raise ValueError(f"ids: expected a 1-d array (one text), got shape {ids.shape}")
    tracks = check_positive_int("tracks", tracks)
    chunk = check_positive_int("chunk", chunk)
    length = (len(ids) - 1) // tracks
    if length < 1:
        raise ValueError(
            f"tracks: {tracks} tracks need at least tracks + 1 = {tracks + 1} ids, "
            f"got {len(ids)}"
        )
    x = ids[: tracks * length].reshape(tracks, length).T
    y = ids[1: tracks * length + 1].reshape(tracks, length).T
    total, state = 0.0, None
    for start in range(0, length, chunk):
        logits, state = _run(recurrent, readouts, x[start:start + chunk], state)
        log_p = log_softmax(logits.astype(np.float64, copy=False))
        total -= np.take_along_axis(log_p, y[start:start + chunk, :, None], axis=-1).sum()
    return float(total / (tracks * length))
