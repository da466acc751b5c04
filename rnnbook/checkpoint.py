"""Checkpointed BPTT: keep every k-th state, recompute the rest during the backward pass.

Plain BPTT keeps everything the backward pass reads: for ``T`` steps, ``T`` hidden states
(and, for the gated cells, their gates), so memory grows like ``T``. Checkpointing
(Gruslys et al., 2016; Chen et al., 2016) splits the sequence into segments of ``k`` steps
and keeps only the state *entering* each segment. The backward pass walks the segments from
the last to the first: it recomputes one segment's cache from its stored state, backpropagates
through it with the state gradient carried from the segment after it, and lets the cache go.
Between the passes ``ceil(T / k)`` states are held, during the backward pass one segment's
cache more: ``T / k + k`` steps' worth (eq. :eq:`eq-checkpoint-memory` of
:doc:`/book/g_practice/cost_of_bptt`), smallest at ``k = sqrt(T)``. The price is one extra
forward pass.

The pieces are the direction-level functions of the plain path (``direction_forward`` and
``direction_backward`` of :mod:`rnnbook.functional`, :mod:`rnnbook.lstm`, :mod:`rnnbook.gru`),
called on a segment instead of the whole sequence.

Layers and directions:

* a unidirectional stack runs *time-major*: the forward pass takes each segment through every
  layer before moving on, and the backward pass recomputes a segment in every layer, then
  backpropagates it from the top layer down. Nothing of length ``T`` is kept except the
  caller's input; each layer stores its own ``ceil(T / k)`` states.
* a bidirectional stack runs *layer-major*, as the plain path does. The gradient reaching
  layer ``l`` at step ``t`` (steps numbered ``1 .. T``) needs the layer above's forward
  direction backpropagated from step ``T`` down to ``t`` and its reverse direction from step
  ``1`` up to ``t``. Layer ``l``'s own forward direction starts its backward pass at step
  ``T``, whose gradient is complete only once the layer above's reverse direction has swept
  the whole sequence: so this implementation's backward pass goes layer by layer and holds a
  ``(T, B, 2H)`` gradient between layers. Within a layer, each direction stores the state
  entering each segment *in its own reading order* (for the reverse direction, the state at
  the segment's end) and recomputes the segment in that order. The input of each layer above
  the first, ``(T, B, 2H)``, is kept: it is the size of the gradient the backward pass holds
  anyway, and recomputing it would rerun every layer below once per layer above. So for a
  *stack* of bidirectional layers memory stays ``O(T)`` here; one could avoid it by storing
  boundary gradients of the upper reverse direction and recomputing, at more compute.

Memory: :func:`stored_bytes` counts the recurrent layer's own cache. The output sequence
``(T, B, K * H)`` is returned to the caller and is not counted; a per-step readout (a
``Linear`` after the layer in a ``Sequential``) keeps it until its own backward pass, so for
such a model the total stays ``O(T)`` (for the vanilla RNN, whose plain cache *is* its output
sequence, checkpointing then saves almost nothing). Work buffers that the per-thread pool of
:mod:`rnnbook._workspace` keeps between calls (such as ``rnn.z``, ``(T, B, H)`` on the plain
path and ``(k, B, H)`` here, and the LSTM's ``d_gates``) are not counted either.

Exact equality: the outputs, final states and every gradient equal those of the plain path
bit for bit, for every cell, layer count and direction, in float32 and float64, whenever the
plain forward pass is grouped by the same segments. By default both use
``k = sqrt_segment(T)``; for another ``k``, the plain pass takes ``segment=k``
(``rnn_forward(..., segment=k)``, ``RNN.forward(x, h0, segment=k)``; its backward pass reads
the grouping from the cache). Floating-point addition is not associative, so equality needs
the same operations in the same order, and the plain path is built to make them (see
:mod:`rnnbook._chunks`):

1. each segment's weight and bias gradients are one product (or sum) over its ``k * B``
   rows, added to the total as the segments are done, in the order the backward loop meets
   them (the last segment first for a forward direction). Here each segment is one call of
   the direction's backward pass, and its gradients are added in that same order. One
   product over all ``T * B`` rows would round differently.
2. the input projection, and the input's gradient, is one product per segment (for the LSTM
   and GRU, per chunk of a segment; chunks never straddle a boundary). A BLAS library may
   round a row of a product differently depending on the rows around it (OpenBLAS does in
   float32), so both paths hand it the same blocks of rows.

Everything else, the recurrent products (one step's ``(B, H)`` rows at a time) and the
elementwise work, is the same operation on the same numbers in both paths. A plain pass
grouped by another ``k`` differs from the checkpointed one in the last bits of its weight
gradients (``tests/test_checkpoint.py`` shows it, so that the equality test is not vacuous).
The grouping costs the plain path no measurable time (``benchmarks/checkpointing.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnbook._checks import check_array, check_choice, check_positive_int
from rnnbook._chunks import segment_bounds, sqrt_segment  # public here too
from rnnbook._stack import StackCache, param_names
from rnnbook.functional import (
    RNN_NONLINEARITIES,
    check_input,
    check_state,
    infer_config,
    rnn_direction_passes,
)
from rnnbook.gru import gru_direction_backward, gru_direction_forward
from rnnbook.layers import GRU, LSTM, RNN
from rnnbook.lstm import lstm_direction_backward, lstm_direction_forward

CELLS = ("rnn", "lstm", "gru")


@dataclass(frozen=True)
class _Cell:
    """One recurrent cell as the stacking code sees it (see ``rnnbook._stack``)."""

    kind: str  # the plain cache's kind: "rnn_tanh", "rnn_relu", "lstm" or "gru"
    gates: int  # stacked blocks per weight matrix
    state_names: tuple[str, ...]  # ("h0",) or ("h0", "c0")
    forward: Callable[..., Any]  # (x, weights, initial_states, reverse, previous) -> cache
    backward: Callable[..., Any]  # (cache, weights, d_outputs, d_last) -> (d_w, dx, d_start)


def _rnn_cell(nonlinearity: str) -> _Cell:
    """The Elman cell, with the very passes ``rnn_forward`` and ``rnn_backward`` stack."""
    forward, backward = rnn_direction_passes(nonlinearity)
    return _Cell(f"rnn_{nonlinearity}", 1, ("h0",), forward, backward)


def _cell(name: str, nonlinearity: str = "tanh") -> _Cell:
    check_choice("cell", name, CELLS)
    if name == "rnn":
        check_choice("nonlinearity", nonlinearity, RNN_NONLINEARITIES)
        return _rnn_cell(nonlinearity)
    if nonlinearity != "tanh":
        raise ValueError(f"nonlinearity: only the 'rnn' cell takes one, got {nonlinearity!r} "
                         f"for cell {name!r}")
    if name == "lstm":
        return _Cell("lstm", 4, ("h0", "c0"), lstm_direction_forward, lstm_direction_backward)
    return _Cell("gru", 3, ("h0",), gru_direction_forward, gru_direction_backward)


def _cell_of_kind(kind: str) -> _Cell:
    if kind.startswith("rnn_"):
        return _cell("rnn", kind.removeprefix("rnn_"))
    return _cell(kind)


@dataclass(frozen=True)
class Checkpoints:
    """What checkpointed BPTT keeps between its forward and backward pass.

    ``states[l][d]`` holds, for layer ``l`` and direction ``d`` (0 forward, 1 reverse), one
    array per state of the cell (``h``; for the LSTM ``h`` and ``c``), each ``(S, B, H)``:
    entry ``j`` is the state with which that direction *enters* segment ``bounds[j]`` in its
    own reading order (the forward direction at the segment's first step, the reverse
    direction at its last). ``layer_inputs`` holds the inputs ``(T, B, 2H)`` of layers
    ``1 .. L-1`` of a bidirectional stack (empty otherwise). ``x`` is the caller's input,
    referenced, not copied: it must not change before the backward pass.
    """

    kind: str
    x: np.ndarray
    bounds: tuple[tuple[int, int], ...]
    states: tuple[tuple[tuple[np.ndarray, ...], ...], ...]
    layer_inputs: tuple[np.ndarray, ...]

    @property
    def segment(self) -> int:
        """The segment length ``k`` (the first segment's; only the last may be shorter)."""
        start, stop = self.bounds[0]
        return stop - start

    @property
    def num_stored_states(self) -> int:
        """How many ``(B, H)`` states are stored, over all layers, directions and kinds."""
        return sum(len(a) for layer in self.states for direction in layer for a in direction)


def _owner(array: np.ndarray) -> np.ndarray:
    """The array that owns the memory a view looks at."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _arrays(obj: object):
    """Every array in a cache: dataclass fields, tuples and lists, walked recursively."""
    if isinstance(obj, np.ndarray):
        yield obj
    elif isinstance(obj, tuple | list):
        for item in obj:
            yield from _arrays(item)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for field in dataclasses.fields(obj):
            yield from _arrays(getattr(obj, field.name))


def stored_bytes(cache: StackCache | Checkpoints) -> int:
    """Bytes that BPTT keeps between the forward and the backward pass.

    ``cache`` is the cache of a plain forward pass (:func:`~rnnbook.rnn_forward`,
    :func:`~rnnbook.lstm_forward`, :func:`~rnnbook.gru_forward`) or the ``Checkpoints`` of
    :func:`~rnnbook.checkpoint_forward`. Each buffer is counted once however many views of it
    the cache holds, and the caller's input ``x`` is left out (the caller holds it anyway).

    For a plain cache this grows like ``T`` (the ``(T + 1, B, H)`` states, and the gated
    cells' gates and cells). For checkpoints it is the ``T / k`` term of eq.
    :eq:`eq-checkpoint-memory` of :doc:`/book/g_practice/cost_of_bptt`: ``ceil(T / k)``
    ``(B, H)`` states per layer, direction and state (``h``; ``h`` and ``c`` for the LSTM),
    plus the ``(T, B, 2H)`` inputs of the upper layers of a bidirectional stack; the ``k``
    term, one recomputed segment's cache, exists only during the backward pass.
    """
    if isinstance(cache, Checkpoints):
        given = cache.x
    elif isinstance(cache, StackCache):
        given = cache.layers[0][0].x
    else:
        raise TypeError("cache: expected a StackCache or Checkpoints, got "
                        f"{type(cache).__name__}")
    owners = {id(_owner(a)): _owner(a) for a in _arrays(cache)}
    owners.pop(id(_owner(given)), None)
    return sum(a.nbytes for a in owners.values())


def _weights(params, layer, reverse):
    return tuple(params[name] for name in param_names(layer, reverse))


def _unpack_states(cell: _Cell, name: str, value: object) -> tuple[object, ...]:
    """``value`` as one entry per state of the cell (``None`` for a missing one)."""
    if len(cell.state_names) == 1:
        return (value,)
    if value is None:
        return (None, None)
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise TypeError(f"{name}: expected a pair (h, c) or None, got {type(value).__name__}")
    return tuple(value)


def checkpoint_forward(
    cell: str,
    params: dict[str, np.ndarray],
    x: np.ndarray,
    state: np.ndarray | tuple[np.ndarray, np.ndarray] | None = None,
    *,
    segment: int | None = None,
    nonlinearity: str = "tanh",
) -> tuple[np.ndarray, np.ndarray | tuple[np.ndarray, np.ndarray], Checkpoints]:
    """Forward pass that keeps only the state entering each segment of ``segment`` steps.

    Computes what the plain forward pass computes (eq. :eq:`eq-elman-cell`, :eq:`eq-lstm` or
    :eq:`eq-gru`) but keeps ``ceil(T / k)`` states per layer and direction instead of ``T``:
    the ``T / k`` term of the memory ``M(k) = T / k + k`` of eq. :eq:`eq-checkpoint-memory`
    of :doc:`/book/g_practice/cost_of_bptt`, whose ``k`` term the backward pass adds.

    ``cell`` is ``"rnn"`` (with ``nonlinearity`` ``"tanh"`` or ``"relu"``), ``"lstm"`` or
    ``"gru"``; ``params``, ``x`` ``(T, B, D)`` and ``state`` are as for
    :func:`~rnnbook.rnn_forward` (``h0`` ``(L * K, B, H)``), :func:`~rnnbook.lstm_forward`
    (``state = (h0, c0)``) and :func:`~rnnbook.gru_forward`. ``segment`` is ``k``, by
    default :func:`~rnnbook.sqrt_segment` ``(T)``, the plain forward pass's default too;
    ``k >= T`` keeps one segment (no saving).

    Returns ``out`` ``(T, B, K * H)``, the final state (``h_n`` ``(L * K, B, H)``, or
    ``(h_n, c_n)``) and the ``Checkpoints`` for :func:`~rnnbook.checkpoint_backward`.
    """
    spec = _cell(cell, nonlinearity)
    config = infer_config(params, gates=spec.gates)
    x = check_input(x, config)
    steps, batch, _ = x.shape
    k = sqrt_segment(steps) if segment is None else check_positive_int("segment", segment)
    bounds = segment_bounds(steps, min(k, steps))
    initial = tuple(
        check_state(name, value, config, batch)
        for name, value in zip(spec.state_names, _unpack_states(spec, "state", state),
                               strict=True)
    )
    run = _forward_bidirectional if config.bidirectional else _forward_time_major
    out, finals, states, layer_inputs = run(spec, params, config, x, initial, bounds)
    checkpoints = Checkpoints(spec.kind, x, bounds, states, layer_inputs)
    final = finals[0] if len(finals) == 1 else finals
    return out, final, checkpoints


def _store(slots: tuple[np.ndarray, ...], j: int, values: tuple[np.ndarray, ...]) -> None:
    for slot, value in zip(slots, values, strict=True):
        slot[j] = value


def _forward_time_major(spec, params, config, x, initial, bounds):
    """Unidirectional: each segment through every layer, then the next segment."""
    steps, batch, _ = x.shape
    layers, hidden, dtype = config.num_layers, config.hidden_size, config.dtype
    stored = [tuple(np.empty((len(bounds), batch, hidden), dtype) for _ in initial)
              for _ in range(layers)]
    current = [tuple(s[layer] for s in initial) for layer in range(layers)]
    weights = [_weights(params, layer, False) for layer in range(layers)]
    out = np.empty((steps, batch, hidden), dtype)
    for j, (start, stop) in enumerate(bounds):
        layer_input = x[start:stop]
        for layer in range(layers):
            _store(stored[layer], j, current[layer])
            cache = spec.forward(layer_input, weights[layer], current[layer], False, None)
            # Copies, so that the segment's buffers are freed once the layer above has read it.
            current[layer] = tuple(s.copy() for s in cache.last_states)
            layer_input = cache.outputs
            del cache
        out[start:stop] = layer_input
    finals = tuple(np.stack([current[layer][m] for layer in range(layers)])
                   for m in range(len(initial)))
    states = tuple((s,) for s in stored)
    return out, finals, states, ()


def _reading_order(count: int, reverse: bool) -> range:
    return range(count - 1, -1, -1) if reverse else range(count)


def _forward_bidirectional(spec, params, config, x, initial, bounds):
    """Bidirectional: layer by layer, each direction segment by segment in its own order."""
    steps, batch, _ = x.shape
    layers, hidden, dtype = config.num_layers, config.hidden_size, config.dtype
    states, finals, layer_inputs = [], [], []
    layer_input = x
    for layer in range(layers):
        outputs = np.empty((steps, batch, 2 * hidden), dtype)
        per_direction = []
        for direction, reverse in enumerate((False, True)):
            stored = tuple(np.empty((len(bounds), batch, hidden), dtype) for _ in initial)
            current = tuple(s[2 * layer + direction] for s in initial)
            weights = _weights(params, layer, reverse)
            for j in _reading_order(len(bounds), reverse):
                start, stop = bounds[j]
                _store(stored, j, current)
                cache = spec.forward(layer_input[start:stop], weights, current, reverse, None)
                current = tuple(s.copy() for s in cache.last_states)
                outputs[start:stop, :, direction * hidden:(direction + 1) * hidden] = \
                    cache.outputs
                del cache
            per_direction.append(stored)
            finals.append(current)
        states.append(tuple(per_direction))
        if layer + 1 < layers:
            layer_inputs.append(outputs)
        layer_input = outputs
    finals = tuple(np.stack([f[m] for f in finals]) for m in range(len(initial)))
    return layer_input, finals, tuple(states), tuple(layer_inputs)


def checkpoint_backward(
    params: dict[str, np.ndarray],
    checkpoints: Checkpoints,
    d_out: np.ndarray,
    d_state: np.ndarray | tuple[np.ndarray | None, np.ndarray | None] | None = None,
) -> dict[str, np.ndarray]:
    """BPTT from ``Checkpoints``: each segment recomputed from its stored state, then
    backpropagated with the state gradient carried from the segment after it.

    At its peak it holds the checkpoints and one recomputed segment's cache, the
    ``T / k + k`` states of eq. :eq:`eq-checkpoint-memory` of
    :doc:`/book/g_practice/cost_of_bptt`, at the price of one extra forward pass.

    ``checkpoints`` comes from :func:`~rnnbook.checkpoint_forward` with the same ``params``.
    ``d_out`` ``(T, B, K * H)``; ``d_state`` is ``d_h_n`` ``(L * K, B, H)`` (for the LSTM
    the pair ``(d_h_n, d_c_n)``) or None for zero. Returns what the plain backward pass of the
    cell returns (:func:`~rnnbook.rnn_backward`, :func:`~rnnbook.lstm_backward`,
    :func:`~rnnbook.gru_backward`): every parameter's gradient under its name, ``"input"``
    ``(T, B, D)``, ``"h0"`` (and ``"c0"``) ``(L * K, B, H)``, equal to it bit for bit when
    the plain forward pass used the same segment length (by default both use
    :func:`~rnnbook.sqrt_segment` ``(T)``).
    """
    if not isinstance(checkpoints, Checkpoints):
        raise TypeError("checkpoints: expected the Checkpoints of checkpoint_forward, got "
                        f"{type(checkpoints).__name__}")
    spec = _cell_of_kind(checkpoints.kind)
    config = infer_config(params, gates=spec.gates)
    x = checkpoints.x
    steps, batch, _ = x.shape
    directions = config.num_directions
    made = (len(checkpoints.states), len(checkpoints.states[0]),
            checkpoints.states[0][0][0].shape[2], checkpoints.states[0][0][0].dtype)
    wanted = (config.num_layers, directions, config.hidden_size, config.dtype)
    if made != wanted or x.shape[2] != config.input_size:
        raise ValueError("checkpoints: made by a network of (layers, directions, hidden size, "
                         f"dtype) = {made}, but params describe {wanted}")
    d_out = check_array("d_out", d_out, (steps, batch, directions * config.hidden_size),
                        config.dtype, axes="(T, B, K * H)")
    d_final = tuple(
        check_state(f"d_{name[:1]}_n", value, config, batch)
        for name, value in zip(spec.state_names, _unpack_states(spec, "d_state", d_state),
                               strict=True)
    )
    run = _backward_bidirectional if config.bidirectional else _backward_time_major
    grads, d_input, d_initial = run(spec, params, config, checkpoints, d_out, d_final)
    grads = {name: grads[name] for name in params}
    grads["input"] = d_input
    grads.update(zip(spec.state_names, d_initial, strict=True))
    return grads


def _accumulate(grads: dict[str, np.ndarray], names, d_weights) -> None:
    for name, value in zip(names, d_weights, strict=True):
        if name in grads:
            grads[name] += value
        else:
            grads[name] = value


def _backward_time_major(spec, params, config, checkpoints, d_out, d_final):
    """Unidirectional: segments from the last to the first; in each, recompute every layer,
    then backpropagate from the top layer down."""
    x, bounds = checkpoints.x, checkpoints.bounds
    layers = config.num_layers
    names = [param_names(layer) for layer in range(layers)]
    weights = [_weights(params, layer, False) for layer in range(layers)]
    carried = [tuple(d[layer] for d in d_final) for layer in range(layers)]
    grads: dict[str, np.ndarray] = {}
    d_input = np.empty_like(x)
    for j in range(len(bounds) - 1, -1, -1):
        start, stop = bounds[j]
        caches = []
        layer_input = x[start:stop]
        for layer in range(layers):
            stored = tuple(s[j] for s in checkpoints.states[layer][0])
            caches.append(spec.forward(layer_input, weights[layer], stored, False, None))
            layer_input = caches[-1].outputs
        d_above = d_out[start:stop]
        for layer in range(layers - 1, -1, -1):
            d_weights, d_above, carried[layer] = spec.backward(
                caches[layer], weights[layer], d_above, carried[layer])
            _accumulate(grads, names[layer], d_weights)
            caches[layer] = None  # this layer's segment is done: free its cache
        d_input[start:stop] = d_above
    d_initial = tuple(np.stack([carried[layer][m] for layer in range(layers)])
                      for m in range(len(d_final)))
    return grads, d_input, d_initial


def _backward_bidirectional(spec, params, config, checkpoints, d_out, d_final):
    """Bidirectional: layer by layer from the top, each direction segment by segment in the
    order opposite to its reading order."""
    bounds, hidden = checkpoints.bounds, config.hidden_size
    inputs = (checkpoints.x, *checkpoints.layer_inputs)
    grads: dict[str, np.ndarray] = {}
    d_initial = tuple(np.empty_like(d) for d in d_final)
    d_above = d_out
    for layer in range(config.num_layers - 1, -1, -1):
        layer_input = inputs[layer]
        d_below = None
        for direction, reverse in enumerate((False, True)):
            weights = _weights(params, layer, reverse)
            index = 2 * layer + direction
            carried = tuple(d[index] for d in d_final)
            dx = np.empty_like(layer_input)
            columns = slice(direction * hidden, (direction + 1) * hidden)
            for j in _reading_order(len(bounds), not reverse):
                start, stop = bounds[j]
                stored = tuple(s[j] for s in checkpoints.states[layer][direction])
                cache = spec.forward(layer_input[start:stop], weights, stored, reverse, None)
                d_weights, dx[start:stop], carried = spec.backward(
                    cache, weights, d_above[start:stop, :, columns], carried)
                _accumulate(grads, param_names(layer, reverse), d_weights)
                del cache
            for target, value in zip(d_initial, carried, strict=True):
                target[index] = value
            # The same sum as the plain path: forward direction's dx plus the reverse one's.
            if d_below is None:
                d_below = dx
            else:
                d_below += dx
        d_above = d_below
    return grads, d_above, d_initial


class Checkpointed:
    """A recurrent layer (:class:`~rnnbook.RNN`, :class:`~rnnbook.LSTM`,
    :class:`~rnnbook.GRU`) whose backward pass uses checkpointing.

    It shares the layer's ``params`` (an optimiser that updates one updates the other) and
    has the layer's ``forward``/``backward`` signatures, so it can stand in for the layer,
    for example inside :class:`~rnnbook.Sequential`. Its outputs and gradients equal the
    layer's bit for bit: by default both group the steps into segments of
    :func:`~rnnbook.sqrt_segment` ``(T)`` steps; with ``segment=k`` here, call the layer's
    ``forward(x, state, segment=k)``.

    Between its ``forward`` and ``backward`` it keeps ``ceil(T / k)`` states per layer and
    direction (:func:`~rnnbook.checkpoint_forward`), and during ``backward`` one segment's
    cache more: the memory ``M(k) = T / k + k`` of eq. :eq:`eq-checkpoint-memory` of
    :doc:`/book/g_practice/cost_of_bptt`, against ``T`` states for the plain layer.

    >>> import numpy as np, rnnbook
    >>> lstm = Checkpointed(rnnbook.LSTM(3, 5, seed=0), segment=4)
    >>> out, (h_n, c_n) = lstm.forward(np.zeros((10, 2, 3)))
    >>> sorted(lstm.backward(np.ones_like(out)))[:3]
    ['bias_hh_l0', 'bias_ih_l0', 'c0']
    """

    def __init__(self, layer: RNN | LSTM | GRU, segment: int | None = None) -> None:
        if isinstance(layer, RNN):
            self.cell, self.nonlinearity = "rnn", layer.nonlinearity
        elif isinstance(layer, LSTM | GRU):
            self.cell, self.nonlinearity = layer.cell_name.lower(), "tanh"
        else:
            raise TypeError(f"layer: expected an RNN, LSTM or GRU, got {type(layer).__name__}")
        self.layer = layer
        self.segment = None if segment is None else check_positive_int("segment", segment)
        self.checkpoints: Checkpoints | None = None

    def __repr__(self) -> str:
        return f"Checkpointed({self.layer!r}, segment={self.segment})"

    @property
    def params(self) -> dict[str, np.ndarray]:
        """The wrapped layer's ``params``, the same dict (not a copy): PyTorch's names and
        shapes, such as ``weight_hh_l0`` ``(G * H, H)``."""
        return self.layer.params

    def forward(self, x, state=None):
        """As the layer's ``forward``; keeps only the checkpoints for ``backward``."""
        out, final, self.checkpoints = checkpoint_forward(
            self.cell, self.params, x, state, segment=self.segment,
            nonlinearity=self.nonlinearity)
        return out, final

    def backward(self, d_out, d_state=None):
        """As the layer's ``backward``, by recomputing each segment."""
        if self.checkpoints is None:
            raise RuntimeError("Checkpointed.backward: call forward first (there are no "
                               "checkpoints to use)")
        return checkpoint_backward(self.params, self.checkpoints, d_out, d_state)

    __call__ = forward
