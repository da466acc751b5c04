"""Layers and directions: the one driver that stacks any recurrent cell.

A cell (Elman, LSTM, GRU) supplies two functions for one direction of one layer:

* ``forward(x, weights, initial_states, reverse, previous, segment) -> cache``, where
  ``weights`` is ``(W_ih, W_hh, b_ih, b_hh)``, ``initial_states`` a tuple of ``(B, H)``
  arrays (``(h0,)`` or ``(h0, c0)``), ``previous`` an earlier cache whose buffers may be
  reused (or None), ``segment`` the length of the segments that group the work (None: one
  segment), and the cache has ``outputs`` ``(T, B, H)``, ``last_states`` and ``bounds``;
* ``backward(cache, weights, d_outputs, d_last_states) -> (d_weights, dx, d_initial_states)``,
  grouped by the cache's ``bounds``.

This module runs them over ``num_layers`` layers, each read forwards and, when the network
is bidirectional, backwards too; the layer above reads the concatenated outputs. Every layer
and direction uses the same segments (see :mod:`rnnbook._chunks`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnbook._checks import check_array
from rnnbook._chunks import Bounds, default_bounds


def param_names(layer: int, reverse: bool = False) -> tuple[str, str, str, str]:
    """PyTorch's names of ``(W_ih, W_hh, b_ih, b_hh)`` for one layer and direction."""
    suffix = f"l{layer}" + ("_reverse" if reverse else "")
    return (f"weight_ih_{suffix}", f"weight_hh_{suffix}", f"bias_ih_{suffix}", f"bias_hh_{suffix}")


@dataclass(frozen=True)
class StackCache:
    """Per layer, one direction cache per direction; ``kind`` names the cell that made it."""

    layers: tuple[tuple[Any, ...], ...]
    kind: str

    @property
    def bounds(self) -> Bounds:
        """The ``(start, stop)`` segments that group the forward and backward passes."""
        return self.layers[0][0].bounds

    @property
    def segment(self) -> int:
        """The segment length ``k`` (the first segment's; only the last may be shorter)."""
        start, stop = self.bounds[0]
        return stop - start


def stack_forward(
    params: dict[str, np.ndarray],
    x: np.ndarray,
    initial_states: tuple[np.ndarray, ...],
    num_layers: int,
    bidirectional: bool,
    forward: Callable[..., Any],
    kind: str,
    recycle: StackCache | None = None,
    segment: int | None = None,
) -> tuple[np.ndarray, tuple[np.ndarray, ...], StackCache]:
    """Run the cell over every layer and direction.

    ``initial_states`` holds arrays of shape ``(L * K, B, H)``; returns ``out``
    ``(T, B, K * H)`` (read-only, as it shares memory with the cache), the final states in
    the same layout, and the cache. ``recycle``, an earlier cache of the same network, lends
    its buffers where nothing else refers to them (see ``_workspace.recycled``). ``segment``
    is the segment length ``k`` of every layer and direction, ``sqrt_segment(T)`` when None.
    """
    directions = 2 if bidirectional else 1
    bounds = default_bounds(x.shape[0], segment)
    segment = bounds[0][1]  # k, or T when k >= T
    if recycle is not None and (recycle.kind != kind or len(recycle.layers) != num_layers
                                or len(recycle.layers[0]) != directions):
        recycle = None
    layers = []
    layer_input = x
    for layer in range(num_layers):
        caches = []
        for direction, reverse in enumerate((False, True)[:directions]):
            weights = tuple(params[name] for name in param_names(layer, reverse))
            index = layer * directions + direction
            start = tuple(state[index] for state in initial_states)
            previous = recycle.layers[layer][direction] if recycle is not None else None
            caches.append(forward(layer_input, weights, start, reverse, previous, segment))
        layers.append(tuple(caches))
        if bidirectional:
            layer_input = np.concatenate([c.outputs for c in caches], axis=-1)
        else:
            layer_input = caches[0].outputs
    out = layer_input.view()
    out.flags.writeable = False
    finals = tuple(
        np.stack([c.last_states[k] for caches in layers for c in caches])
        for k in range(len(initial_states))
    )
    return out, finals, StackCache(layers=tuple(layers), kind=kind)


def stack_backward(
    params: dict[str, np.ndarray],
    cache: StackCache,
    d_out: np.ndarray,
    d_final_states: tuple[np.ndarray, ...],
    num_layers: int,
    bidirectional: bool,
    backward: Callable[..., Any],
    hidden_size: int,
    dtype: np.dtype,
) -> tuple[dict[str, np.ndarray], np.ndarray, tuple[np.ndarray, ...]]:
    """Backpropagate through every layer and direction, top layer first.

    Returns the parameter gradients (in ``params``' order), the input's gradient and the
    gradients of the initial states, each ``(L * K, B, H)``.
    """
    directions = 2 if bidirectional else 1
    if len(cache.layers) != num_layers or len(cache.layers[0]) != directions:
        raise ValueError("cache: it was made by a network of another shape than params")
    steps, batch = cache.layers[0][0].outputs.shape[:2]
    d_out = check_array("d_out", d_out, (steps, batch, directions * hidden_size), dtype,
                        axes="(T, B, K * H)")
    grads: dict[str, np.ndarray] = {}
    d_initial = tuple(np.empty_like(d) for d in d_final_states)
    d_above = d_out
    for layer in range(num_layers - 1, -1, -1):
        d_below = None
        for direction, reverse in enumerate((False, True)[:directions]):
            names = param_names(layer, reverse)
            weights = tuple(params[name] for name in names)
            index = layer * directions + direction
            d_weights, dx, d_start = backward(
                cache.layers[layer][direction],
                weights,
                d_above[..., direction * hidden_size:(direction + 1) * hidden_size],
                tuple(d[index] for d in d_final_states),
            )
            grads.update(zip(names, d_weights, strict=True))
            for target, value in zip(d_initial, d_start, strict=True):
                target[index] = value
            d_below = dx if d_below is None else d_below + dx
        d_above = d_below
    return {name: grads[name] for name in params}, d_above, d_initial
