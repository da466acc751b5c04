"""Seeded data generators and the text corpus for the book's experiments.

Arrays follow ``(T, B, D)``; class targets are integer arrays ``(T, B)``.

* Synthetic tasks: :func:`sine_waves`, :func:`adding_problem`, :func:`copy_task` (with
  :func:`copy_task_baseline`, the loss of a model without memory).
* Text: :func:`load_text` (the packaged slice of tiny Shakespeare), :class:`Vocabulary`
  (characters to ids and back), :func:`train_validation_split`, :class:`TextBatches`
  (truncated-BPTT batches whose state carries over from batch to batch) and :func:`one_hot`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import TypeVar

import numpy as np

from rnnbook._checks import check_dtype, check_non_negative_int, check_positive_int
from rnnbook.layers import Seed, make_rng

#: A text or the 1-d id array of one: what :func:`train_validation_split` splits.
TextOrIds = TypeVar("TextOrIds", str, np.ndarray)


def sine_waves(
    batch: int, steps: int, seed: Seed = None, *, min_period: float = 8.0,
    max_period: float = 24.0, noise: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Next-value prediction on sine waves of random period and phase.

    Returns ``x`` ``(T, B, 1)``, the waves at steps ``0..T-1``, and ``y`` ``(T, B, 1)``, the
    same waves one step later: the target at step ``t`` is the input at step ``t + 1``.
    The period (in steps) is drawn uniformly from ``[min_period, max_period]`` per sequence.
    The task of :doc:`/book/c_bptt/learning` and :doc:`/book/e_remedies/clipping`.
    """
    batch = check_positive_int("batch", batch)
    steps = check_positive_int("steps", steps)
    if not 0 < min_period <= max_period:
        raise ValueError(
            f"min_period, max_period: expected 0 < min <= max, got {min_period}, {max_period}"
        )
    rng = make_rng(seed)
    period = rng.uniform(min_period, max_period, size=batch)
    phase = rng.uniform(0, 2 * np.pi, size=batch)
    t = np.arange(steps + 1)[:, None]
    wave = np.sin(2 * np.pi * t / period + phase)
    if noise:
        wave = wave + noise * rng.normal(size=wave.shape)
    return wave[:-1, :, None], wave[1:, :, None]


def adding_problem(
    batch: int, steps: int, seed: Seed = None
) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem (Hochreiter & Schmidhuber, 1997): a long-lag regression task.

    Each sequence has two channels: random values in ``[0, 1)`` and a marker that is 1 at
    exactly two steps, one in the first half and one in the second. The target is the sum
    of the two marked values. Returns ``x`` ``(T, B, 2)`` and ``y`` ``(B, 1)``; predicting
    the constant 1 gives a mean squared error of about 1/6. It measures how far back a
    network can carry information in :doc:`/book/e_remedies/initialisation`,
    :doc:`/book/f_gated/gradient_flow` and :doc:`/book/d_gradients/parallel_scan`.
    """
    batch = check_positive_int("batch", batch)
    steps = check_positive_int("steps", steps)
    if steps < 2:
        raise ValueError(f"steps: expected at least 2 (two marked positions), got {steps}")
    rng = make_rng(seed)
    values = rng.uniform(0, 1, size=(steps, batch))
    half = steps // 2
    first = rng.integers(0, half, size=batch)
    second = rng.integers(half, steps, size=batch)
    markers = np.zeros((steps, batch))
    columns = np.arange(batch)
    markers[first, columns] = 1.0
    markers[second, columns] = 1.0
    x = np.stack([values, markers], axis=-1)
    y = (values[first, columns] + values[second, columns])[:, None]
    return x, y


# The copy (memory) task ------------------------------------------------------------------


def _check_n_symbols(n_symbols: object) -> int:
    n_symbols = check_positive_int("n_symbols", n_symbols)
    if n_symbols < 2:
        raise ValueError(
            f"n_symbols: expected at least 2 (one symbol needs no memory), got {n_symbols}"
        )
    return n_symbols


def copy_task(
    batch: int, length: int, delay: int, seed: Seed = None, *, n_symbols: int = 8,
    dtype: type | np.dtype = np.float64,
) -> tuple[np.ndarray, np.ndarray]:
    """The copy (memory) task: read ``length`` symbols, wait, then write them back in order.

    After Hochreiter & Schmidhuber (1997) in the form of Arjovsky, Shah & Bengio (2016). Each
    sequence has ``T = 2 * length + delay + 1`` steps:

    ========================  ===========================  ===============================
    steps                     input class                  target class
    ========================  ===========================  ===============================
    ``0 .. length-1``         a random symbol ``s_i``      blank
    next ``delay`` steps      blank                        blank
    step ``length + delay``   delimiter ("recall now")     blank
    last ``length`` steps     blank                        ``s_i``, in the order read
    ========================  ===========================  ===============================

    Symbols are the classes ``0 .. n_symbols-1``, drawn uniformly; the blank is class
    ``n_symbols`` and the delimiter class ``n_symbols + 1``. Symbol ``i`` is read at step
    ``i`` and must be written at step ``i + length + delay + 1``: every symbol has the same lag.
    (Arjovsky et al.'s "T" counts the blanks and the delimiter, that is ``delay + 1`` here.)

    Returns ``x`` ``(T, B, n_symbols + 2)``, one-hot inputs of ``dtype``, and ``y``
    ``(T, B)`` int64 target classes in ``[0, n_symbols]``, ready for
    :func:`rnnbook.cross_entropy_loss` with ``n_symbols + 1`` output classes (or
    ``n_symbols + 2``: the delimiter is then a class never to be predicted). A model without
    memory can do no better than :func:`copy_task_baseline`.
    """
    batch = check_positive_int("batch", batch)
    length = check_positive_int("length", length)
    delay = check_non_negative_int("delay", delay)
    n_symbols = _check_n_symbols(n_symbols)
    dtype = check_dtype(dtype)
    rng = make_rng(seed)
    blank, delimiter = n_symbols, n_symbols + 1
    steps = 2 * length + delay + 1
    symbols = rng.integers(0, n_symbols, size=(length, batch))
    read = np.full((steps, batch), blank, dtype=np.int64)
    read[:length] = symbols
    read[length + delay] = delimiter
    y = np.full((steps, batch), blank, dtype=np.int64)
    y[length + delay + 1:] = symbols
    return one_hot(read, n_symbols + 2, dtype), y


def copy_task_baseline(length: int, delay: int, n_symbols: int = 8) -> float:
    """Mean cross-entropy (nats per step) of the best model of the copy task with no memory.

    Such a model may know the step ``t`` but not the symbols it read. Its best prediction is
    the distribution of the target at ``t``: the blank for sure over the first
    ``length + delay + 1`` steps (no loss), uniform over the ``n_symbols`` symbols over the
    last ``length`` steps (``log n_symbols`` each). Averaged over all ``T`` steps::

        length * log(n_symbols) / (2 * length + delay + 1)

    which is Arjovsky et al.'s ``10 log 8 / (T + 20)`` for ``length = 10``, ``n_symbols = 8``
    and their ``T = delay + 1``. A loss clearly below it means the network remembers.
    """
    length = check_positive_int("length", length)
    delay = check_non_negative_int("delay", delay)
    n_symbols = _check_n_symbols(n_symbols)
    return float(length * np.log(n_symbols) / (2 * length + delay + 1))


def one_hot(
    ids: np.ndarray, size: int, dtype: type | np.dtype = np.float64
) -> np.ndarray:
    """One-hot vectors: ``ids`` of any shape, e.g. ``(T, B)``, to ``(T, B, size)`` of ``dtype``.

    ``out[..., k]`` is 1 where ``ids == k`` and 0 elsewhere; every id must lie in
    ``[0, size)``.
    """
    size = check_positive_int("size", size)
    dtype = check_dtype(dtype)
    if not isinstance(ids, np.ndarray) or not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(
            f"ids: expected an integer numpy.ndarray, got "
            f"{type(ids).__name__}{f' of {ids.dtype}' if isinstance(ids, np.ndarray) else ''}"
        )
    if ids.size and (ids.min() < 0 or ids.max() >= size):
        raise ValueError(f"ids: expected values in [0, {size}), got [{ids.min()}, {ids.max()}]")
    out = np.zeros((*ids.shape, size), dtype=dtype)
    np.put_along_axis(out, ids[..., None], 1, axis=-1)
    return out


# The text corpus -------------------------------------------------------------------------

#: The text that :func:`load_text` reads by default, shipped in ``rnnbook/data`` (see the
#: README there for its source, licence and slice).
DEFAULT_TEXT = "tiny_shakespeare.txt"


def load_text(path: str | os.PathLike[str] | None = None) -> str:
    """The packaged corpus (the first 5,000 lines of tiny Shakespeare), or the file at ``path``.

    The default is read from the installed package, so it needs neither a download nor the
    book's ``shared/`` folder. A ``path`` is read as UTF-8 text and never written. The
    corpus of :doc:`/book/g_practice/language_model`.
    """
    if path is None:
        return resources.files("rnnbook").joinpath("data").joinpath(DEFAULT_TEXT).read_text(
            encoding="utf-8"
        )
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path: expected a str, a path or None, got {type(path).__name__}")
    return Path(path).read_text(encoding="utf-8")


class Vocabulary:
    """The characters of a text, numbered in sorted order: ``encode`` and ``decode``.

    >>> vocab = Vocabulary("hello")
    >>> vocab.chars, vocab.size
    (('e', 'h', 'l', 'o'), 4)
    >>> vocab.encode("hole").tolist()
    [1, 3, 2, 0]
    >>> vocab.decode(vocab.encode("hole"))
    'hole'
    """

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise TypeError(f"text: expected a str, got {type(text).__name__}")
        if not text:
            raise ValueError("text: expected at least one character, got an empty string")
        #: The characters, sorted; ``chars[i]`` is the character with id ``i``.
        self.chars: tuple[str, ...] = tuple(sorted(set(text)))
        self._ids = {char: i for i, char in enumerate(self.chars)}
        # Decoding indexes this array with the whole id array at once; dtype object, because a
        # numpy str array would drop a trailing "\0" character.
        self._table = np.array(self.chars, dtype=object)

    @property
    def size(self) -> int:
        """The number of distinct characters ``V``, the width of a one-hot input."""
        return len(self.chars)

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"Vocabulary(size={self.size})"

    def encode(self, text: str) -> np.ndarray:
        """The ids of ``text``'s characters, int64 of shape ``(len(text),)``.

        A character that is not in the vocabulary raises ``ValueError`` naming it.
        """
        if not isinstance(text, str):
            raise TypeError(f"text: expected a str, got {type(text).__name__}")
        unknown = set(text) - self._ids.keys()
        if unknown:
            first = min(text.index(char) for char in unknown)
            raise ValueError(
                f"text: characters not in the vocabulary: "
                f"{', '.join(repr(char) for char in sorted(unknown))} "
                f"(the first at position {first})"
            )
        return np.fromiter(map(self._ids.__getitem__, text), dtype=np.int64, count=len(text))

    def decode(self, ids: np.ndarray) -> str:
        """The text of ``ids``, a 1-d integer array (or sequence) of values in ``[0, V)``."""
        ids = np.asarray(ids)
        if ids.size == 0:
            return ""
        if not np.issubdtype(ids.dtype, np.integer):
            raise TypeError(f"ids: expected integers, got dtype {ids.dtype}")
        if ids.ndim != 1:
            raise ValueError(
                f"ids: expected a 1-d array (one column of a (T, B) batch), got shape {ids.shape}"
            )
        if ids.min() < 0 or ids.max() >= self.size:
            raise ValueError(
                f"ids: expected values in [0, {self.size}), got [{ids.min()}, {ids.max()}]"
            )
        return "".join(self._table[ids].tolist())


def train_validation_split(
    data: TextOrIds, validation: float = 0.1
) -> tuple[TextOrIds, TextOrIds]:
    """Split a text or an id array in two, in order: the last ``validation`` part is held out.

    Returns ``(train, held_out)`` with ``held_out`` the last ``round(validation * n)``
    elements; the two are contiguous, so each reads as ordinary text. Works on ``str`` and on
    1-d arrays.
    """
    if not isinstance(data, str | np.ndarray):
        raise TypeError(f"data: expected a str or a 1-d numpy.ndarray, got {type(data).__name__}")
    if isinstance(data, np.ndarray) and data.ndim != 1:
        raise ValueError(f"data: expected a 1-d array, got shape {data.shape}")
    if not isinstance(validation, float | int) or isinstance(validation, bool):
        raise TypeError(f"validation: expected a float in (0, 1), got {type(validation).__name__}")
    if not 0 < validation < 1:
        raise ValueError(f"validation: expected a fraction in (0, 1), got {validation}")
    n = len(data)
    held = round(validation * n)
    if not 0 < held < n:
        raise ValueError(
            f"data: {n} elements leave {held} for validation and {n - held} for training; "
            f"both must be non-empty"
        )
    return data[: n - held], data[n - held:]


class TextBatches:
    """Batches for truncated BPTT over one id stream, with the state carried between batches.

    The stream (from ``offset`` on) is cut into ``batch`` contiguous *tracks* of
    ``track_length = len(self) * steps`` ids, one per column: track ``b`` starts at
    ``starts[b] = offset + b * track_length``. Batch ``i`` holds steps
    ``i * steps .. (i + 1) * steps - 1`` of every track::

        x[t, b] = ids[starts[b] + i * steps + t]        y[t, b] = ids[starts[b] + i * steps + t + 1]

    so ``y`` is the next character of ``x``, and column ``b`` of batch ``i + 1`` continues
    the text exactly where column ``b`` of batch ``i`` stopped: the final state ``h_n`` of
    one batch is the right initial state ``h0`` of the next (detached: the gradient stops at
    the batch boundary, which is what makes BPTT truncated). The tracks tile
    ``ids[offset : offset + batch * track_length]`` in order; the few ids after that (fewer
    than ``batch * steps + 1``) are not used. Varying ``offset`` from epoch to epoch moves the
    cuts.

    Indexing or iterating gives ``(x_ids, y_ids)``, int arrays ``(T, B)`` = ``(steps, batch)``
    (read-only views); :func:`one_hot` turns ``x_ids`` into the ``(T, B, V)`` input. The
    object can be iterated again, once per epoch.
    """

    def __init__(self, ids: np.ndarray, batch: int, steps: int, *, offset: int = 0) -> None:
        if not isinstance(ids, np.ndarray) or not np.issubdtype(ids.dtype, np.integer):
            raise TypeError(
                f"ids: expected a 1-d integer numpy.ndarray (Vocabulary.encode), got "
                f"{type(ids).__name__}{f' of {ids.dtype}' if isinstance(ids, np.ndarray) else ''}"
            )
        if ids.ndim != 1:
            raise ValueError(f"ids: expected a 1-d array, got shape {ids.shape}")
        self.batch = check_positive_int("batch", batch)
        self.steps = check_positive_int("steps", steps)
        self.offset = check_non_negative_int("offset", offset)
        usable = len(ids) - self.offset
        # Each track needs its inputs plus one more id, the target of its last input.
        if usable < self.batch * self.steps + 1:
            raise ValueError(
                f"batch * steps: {self.batch} tracks of {self.steps} steps need "
                f"batch * steps + 1 = {self.batch * self.steps + 1} ids, got "
                f"{usable} (len(ids) = {len(ids)}, offset = {self.offset})"
            )
        self._n_batches = (usable - 1) // self.batch // self.steps
        self.track_length = self._n_batches * self.steps
        self.starts = self.offset + self.track_length * np.arange(self.batch)
        # Column b is track b plus the one id after it; batches are read-only views of it.
        rows = self.starts[None, :] + np.arange(self.track_length + 1)[:, None]
        self._tracks = ids[rows]
        self._tracks.flags.writeable = False

    def __len__(self) -> int:
        return self._n_batches

    def __repr__(self) -> str:
        return (
            f"TextBatches(batch={self.batch}, steps={self.steps}, offset={self.offset}, "
            f"batches={len(self)})"
        )

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(index, bool) or not isinstance(index, int | np.integer):
            raise TypeError(f"index: expected an int, got {type(index).__name__}")
        if not -len(self) <= index < len(self):
            raise IndexError(f"index: expected a batch in [0, {len(self)}), got {index}")
        start = (int(index) % len(self)) * self.steps
        window = self._tracks[start: start + self.steps + 1]
        return window[:-1], window[1:]

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for index in range(len(self)):
            yield self[index]
