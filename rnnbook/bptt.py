"""Full, truncated and randomly truncated backpropagation through time.

A *model* here is a recurrent layer (:class:`~rnnbook.RNN`, :class:`~rnnbook.LSTM`,
:class:`~rnnbook.GRU`), alone or as the first layer of a :class:`~rnnbook.Sequential`
whose other layers are read-outs applied at every step (:class:`~rnnbook.Linear`). A *loss*
is any callable ``loss(prediction, target) -> (value, d_prediction)``, such as
``functools.partial(rnnbook.mse_loss, reduction="sum")``; it sees the predictions and
targets of the steps that count, ``(n, B, C)`` and ``target`` sliced along its first (time)
axis.

Every scheme walks the sequence forwards and yields :class:`Update` objects, one per
parameter update: the loss of some steps and its gradient, backpropagated to some earlier
step and no further. Between two updates the caller may change the parameters in place (an
optimiser step); the next window is computed with the new ones. Summed over a sequence at
fixed parameters (:func:`accumulate`), the updates give one gradient estimate of the loss
*summed* over the steps (``reduction="sum"``). With ``reduction="mean"`` each update
averages over its own window instead, so the sum is not the full gradient, and with random
windows not even its unbiased estimate; for training that per-window mean is often what one
wants, but compare estimates with a summed loss.

* :func:`full_bptt`: one update, the exact gradient;
* :func:`truncated_bptt`: TBPTT(k1, k2) of Williams & Peng (1990): every ``k1`` steps, the
  losses of those ``k1`` steps are backpropagated ``k2`` steps, from a state carried over
  without its gradient. Biased: influences longer than ``k2`` steps are lost;
* :func:`randomized_bptt`: truncation at random steps, with the gradient that crosses a
  step *without* being truncated divided by the probability of crossing it
  (Tallec & Ollivier, 2017). Unbiased: its expectation is the full gradient.

Truncation walks forwards through time, carrying the state from one window to the next; a
bidirectional layer's reverse direction has no such state (it starts from the end of the
sequence), so the two truncated schemes refuse bidirectional layers and :func:`full_bptt`
accepts them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnbook._checks import check_positive_int
from rnnbook.functional import rnn_backward, rnn_forward
from rnnbook.gru import gru_backward, gru_forward
from rnnbook.layers import GRU, LSTM, RNN, Linear, Seed, Sequential, make_rng
from rnnbook.lstm import lstm_backward, lstm_forward

Loss = Callable[[np.ndarray, Any], tuple[float, np.ndarray]]
State = tuple[np.ndarray, ...]


@dataclass(frozen=True)
class Update:
    """One parameter update of a BPTT scheme.

    The losses of steps ``start .. stop - 1`` were backpropagated down to step ``reach``
    (``reach <= start``), where the gradient was dropped. ``grads`` holds the gradient of
    every parameter under the model's ``params`` keys; ``state`` is the network's state
    after step ``stop - 1``, in the layer's own format (``h`` ``(L, B, H)``, or ``(h, c)``
    for the LSTM), a copy that carries no gradient: the ``state`` to start the next
    sequence from when a long text is cut into consecutive batches.

    Each entry of ``grads`` has the shape of the parameter it belongs to (``weight_hh_l0``
    ``(G * H, H)``, ...). The windows of the schemes are drawn in
    :doc:`/book/e_remedies/truncation`.
    """

    start: int
    stop: int
    reach: int
    loss: float
    grads: dict[str, np.ndarray]
    state: np.ndarray | tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class _Network:
    """A model taken apart: the recurrent layer, the read-outs, the key prefixes."""

    recurrent: RNN | LSTM | GRU
    prefix: str
    readouts: tuple[tuple[str, Linear], ...]

    def forward(self, x: np.ndarray, state: State) -> tuple[np.ndarray, State, Any]:
        """Recurrent forward pass from ``state``; returns ``out``, the final state, cache."""
        layer, params = self.recurrent, self.recurrent.params
        if isinstance(layer, LSTM):
            out, (h_n, c_n), cache = lstm_forward(params, x, state)
            return out, (h_n, c_n), cache
        if isinstance(layer, GRU):
            out, h_n, cache = gru_forward(params, x, state[0])
        else:
            out, h_n, cache = rnn_forward(params, x, state[0], nonlinearity=layer.nonlinearity)
        return out, (h_n,), cache

    def backward(
        self, cache: Any, d_out: np.ndarray, d_state: State | None
    ) -> tuple[dict[str, np.ndarray], State]:
        """BPTT through one segment: parameter gradients and that of its initial state."""
        layer, params = self.recurrent, self.recurrent.params
        if isinstance(layer, LSTM):
            grads = lstm_backward(params, cache, d_out, d_state)
            return grads, (grads["h0"], grads["c0"])
        d_last = None if d_state is None else d_state[0]
        backward = gru_backward if isinstance(layer, GRU) else rnn_backward
        grads = backward(params, cache, d_out, d_last)
        return grads, (grads["h0"],)

    def zero_state(self, batch: int) -> State:
        layer = self.recurrent
        directions = 2 if layer.bidirectional else 1
        shape = (layer.num_layers * directions, batch, layer.hidden_size)
        count = 2 if isinstance(layer, LSTM) else 1
        return tuple(np.zeros(shape, dtype=layer.dtype) for _ in range(count))

    def as_state(self, state: Any, batch: int) -> State:
        """The caller's state (None, an array, or ``(h, c)`` for the LSTM) as a tuple."""
        if state is None:
            return self.zero_state(batch)
        if isinstance(self.recurrent, LSTM):
            if not isinstance(state, tuple | list) or len(state) != 2:
                raise TypeError(f"state: expected a pair (h0, c0) for an LSTM, got "
                                f"{type(state).__name__}")
            return tuple(state)
        return (state,)

    def public_state(self, state: State) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        copied = tuple(np.array(s, copy=True) for s in state)
        return copied if isinstance(self.recurrent, LSTM) else copied[0]

    def readout(self, out: np.ndarray) -> np.ndarray:
        for _, layer in self.readouts:
            out = layer.forward(out)
        return out

    def readout_backward(self, d_prediction: np.ndarray) -> tuple[dict[str, np.ndarray],
                                                                  np.ndarray]:
        grads: dict[str, np.ndarray] = {}
        for prefix, layer in reversed(self.readouts):
            layer_grads = layer.backward(d_prediction)
            d_prediction = layer_grads["input"]
            grads.update({prefix + name: layer_grads[name] for name in layer.params})
        return grads, d_prediction


def split_model(model: object) -> _Network:
    """The recurrent layer, the read-outs and their key prefixes, or a TypeError saying what
    a model may be."""
    if isinstance(model, RNN | LSTM | GRU):
        return _Network(model, "", ())
    if isinstance(model, Sequential):
        first, *rest = model.layers
        if not isinstance(first, RNN | LSTM | GRU) or not all(
            isinstance(layer, Linear) for layer in rest
        ):
            kinds = [type(layer).__name__ for layer in model.layers]
            raise TypeError(
                "model: expected a recurrent layer followed by Linear read-outs, got "
                f"Sequential of {kinds}"
            )
        readouts = tuple((f"{i}.", layer) for i, layer in enumerate(rest, start=1))
        return _Network(first, "0.", readouts)
    raise TypeError(
        f"model: expected an RNN, LSTM, GRU or a Sequential starting with one, got "
        f"{type(model).__name__}"
    )


def _check_sequence(network: _Network, x: object, target: object) -> int:
    if not isinstance(x, np.ndarray) or x.ndim != 3:
        shape = getattr(x, "shape", None)
        raise ValueError(f"x: expected an array of shape (T, B, D), got {shape}")
    if x.shape[0] == 0:
        raise ValueError(f"x: expected at least one time step, got shape {x.shape}")
    if not hasattr(target, "shape") or target.shape[:1] != x.shape[:1]:
        raise ValueError(
            f"target: expected T = {x.shape[0]} steps on its first axis, like x, got shape "
            f"{getattr(target, 'shape', None)}"
        )
    return x.shape[0]


def _no_bidirectional(network: _Network, scheme: str) -> None:
    if network.recurrent.bidirectional:
        raise ValueError(
            f"model: {scheme} walks forwards through time and carries the state from one "
            "window to the next, but a bidirectional layer's reverse direction starts from "
            "the end of the sequence, so it has no state to carry; use full_bptt for "
            "bidirectional networks"
        )


def _window(
    network: _Network,
    x: np.ndarray,
    target: Any,
    loss: Loss,
    state: State,
    reach: int,
    start: int,
    stop: int,
    cuts: tuple[int, ...] = (),
    scales: tuple[float, ...] = (),
) -> tuple[float, dict[str, np.ndarray], list[State]]:
    """Forward from ``state`` (at step ``reach``) to ``stop``; backpropagate the loss of
    steps ``start .. stop - 1`` down to ``reach``.

    The window is run as segments split at the steps in ``cuts`` (increasing, inside
    ``(reach, stop)``); the gradient that crosses the boundary at ``cuts[i]`` into the
    earlier segment is multiplied by ``scales[i]``. Returns the loss, the gradients under
    the model's keys and the state after each segment (the last one is the final state).
    """
    bounds = (reach, *cuts, stop)
    caches, outs, states = [], [], []
    for first, last in itertools.pairwise(bounds):
        out, state, cache = network.forward(x[first:last], state)
        caches.append(cache)
        outs.append(out)
        states.append(state)
    counted = np.concatenate(outs)[start - reach:]
    value, d_prediction = loss(network.readout(counted), target[start:stop])
    grads, d_counted = network.readout_backward(d_prediction)

    recurrent: dict[str, np.ndarray] = {}
    d_state = None
    for index in range(len(caches) - 1, -1, -1):
        first, last = bounds[index], bounds[index + 1]
        d_out = np.zeros_like(outs[index])
        lo = max(first, start)
        if lo < last:
            d_out[lo - first:] = d_counted[lo - start:last - start]
        segment_grads, d_state = network.backward(caches[index], d_out, d_state)
        for name in network.recurrent.params:
            if name in recurrent:
                recurrent[name] += segment_grads[name]
            else:
                recurrent[name] = np.array(segment_grads[name], copy=True)
        if index:
            d_state = tuple(scales[index - 1] * d for d in d_state)
    grads.update({network.prefix + name: g for name, g in recurrent.items()})
    ordered = {name: grads[name] for name in _keys(network)}
    return float(value), ordered, states


def _keys(network: _Network) -> list[str]:
    keys = [network.prefix + name for name in network.recurrent.params]
    for prefix, layer in network.readouts:
        keys += [prefix + name for name in layer.params]
    return keys


def full_bptt(model: object, x: np.ndarray, target: Any, loss: Loss,
              state: Any = None) -> Update:
    """Exact BPTT over the whole sequence: one :class:`Update` with ``reach = 0``.

    ``x`` ``(T, B, D)``; ``target`` has ``T`` on its first axis; ``state`` is the initial
    state (None for zeros; ``(h0, c0)`` for an LSTM). The gradients are the sums over every
    step and every lag of eq. :eq:`eq-bptt-gradients` of :doc:`/book/c_bptt/bptt_derivation`
    (for a summed loss).
    """
    network = split_model(model)
    steps = _check_sequence(network, x, target)
    start = network.as_state(state, x.shape[1])
    value, grads, states = _window(network, x, target, loss, start, 0, 0, steps)
    return Update(0, steps, 0, value, grads, network.public_state(states[-1]))


def truncation_schedule(steps: int, k1: int, k2: int | None = None) -> list[tuple[int, int, int]]:
    """The windows of TBPTT(k1, k2) over ``steps`` = ``T`` steps, as ``(reach, start, stop)``.

    An update happens after every ``k1`` steps (and after the last step): it counts the
    losses of steps ``start .. stop - 1`` and backpropagates them down to
    ``reach = max(0, stop - k2)``. ``k2`` defaults to ``k1`` (consecutive chunks); it may
    not be smaller, or the oldest losses of a chunk would never be backpropagated at all.
    """
    steps = check_positive_int("steps", steps)
    k1 = check_positive_int("k1", k1)
    k2 = k1 if k2 is None else check_positive_int("k2", k2)
    if k2 < k1:
        raise ValueError(
            f"k2: expected k2 >= k1 = {k1} (each update backpropagates the losses of the last "
            f"k1 steps through k2 steps, so k2 < k1 would leave some losses out), got {k2}"
        )
    stops = [*range(k1, steps, k1), steps]
    return [(max(0, stop - k2), stop - min(k1, stop - previous), stop)
            for previous, stop in zip([0, *stops[:-1]], stops, strict=True)]


def truncated_bptt(
    model: object, x: np.ndarray, target: Any, loss: Loss, k1: int, k2: int | None = None,
    state: Any = None,
) -> Iterator[Update]:
    """TBPTT(k1, k2) (Williams & Peng, 1990): yields one :class:`Update` every ``k1`` steps.

    Each update counts the losses of the last ``k1`` steps and backpropagates them ``k2``
    steps (``k2 >= k1``, default ``k1``), starting from the state at step ``stop - k2``,
    carried over from an earlier window without its gradient. Only one window of ``k2``
    steps is held at a time: memory O(k2), not O(T). The backward passes cost about
    ``T k2 / k1`` steps, as in any TBPTT(k1, k2).

    One difference from Williams & Peng's on-line BPTT(h; h') (their ``h = k2``,
    ``h' = k1``), which keeps a buffer of the last ``h`` states, each computed once with the
    weights of its time: here each window runs its own forward pass from the carried state,
    so when ``k2 > k1`` the overlap with the previous window, ``k2 - k1`` steps, is computed
    again (about ``T (k2 - k1) / k1`` extra forward steps), with the weights of the moment.
    With ``k1 = k2`` the two agree, and with ``k1 = k2 >= T`` it is :func:`full_bptt`.
    Arguments are checked when the function is called, before the first update.

    ``x`` ``(T, B, D)``; ``target`` has ``T`` on its first axis. With ``k1 = 1`` the updates
    add up to the truncated gradient ``g^(k2)`` of eq. :eq:`eq-trunc-truncated` of
    :doc:`/book/e_remedies/truncation`: every term of lag ``k2`` or more is dropped.
    """
    network = split_model(model)
    _no_bidirectional(network, "truncated BPTT")
    steps = _check_sequence(network, x, target)
    schedule = truncation_schedule(steps, k1, k2)
    start_state = network.as_state(state, x.shape[1])
    return _truncated_updates(network, x, target, loss, schedule, start_state)


def _truncated_updates(network, x, target, loss, schedule, start_state) -> Iterator[Update]:
    carried = {0: start_state}
    for index, (reach, start, stop) in enumerate(schedule):
        # The next window starts at next_reach, somewhere in [reach, stop]: keep that state.
        next_reach = schedule[index + 1][0] if index + 1 < len(schedule) else stop
        cuts = (next_reach,) if reach < next_reach < stop else ()
        first_state = carried.pop(reach)
        value, grads, states = _window(network, x, target, loss, first_state, reach,
                                       start, stop, cuts, (1.0,) * len(cuts))
        if next_reach == reach:
            carried[reach] = first_state
        else:
            carried[next_reach] = states[0] if cuts else states[-1]
        yield Update(start, stop, reach, value, grads, network.public_state(states[-1]))


def continue_probabilities(
    steps: int, continue_prob: float | np.ndarray, stride: int | None = None
) -> np.ndarray:
    """``c`` ``(T,)``: ``c[t]`` is the probability that the gradient crosses from step ``t``
    back to step ``t - 1`` (``c[0]`` is unused and 1): the ``c_j`` of
    eq. :eq:`eq-trunc-xi` of :doc:`/book/e_remedies/truncation`.

    A float ``continue_prob`` is placed at every ``stride``-th step (default 1: every step)
    and 1 elsewhere, so that truncation can only happen on that grid; an array gives
    ``c[1:]`` directly (``(T - 1,)``), and then ``stride`` must be left out.
    Every value must lie in ``(0, 1]``: a zero would give no chance to the paths that the
    reweighting divides by it.
    """
    steps = check_positive_int("steps", steps)
    probs = np.ones(steps)
    if isinstance(continue_prob, bool) or not isinstance(
            continue_prob, int | float | np.integer | np.floating | np.ndarray | list | tuple):
        raise TypeError(f"continue_prob: expected a probability or an array of them, got "
                        f"{type(continue_prob).__name__}")
    if np.ndim(continue_prob) == 0:
        stride = 1 if stride is None else check_positive_int("stride", stride)
        probs[stride::stride] = float(continue_prob)
    else:
        if stride is not None:
            raise ValueError("stride: leave it out when continue_prob is an array; the array "
                             "already says at which steps truncation can happen")
        given = np.asarray(continue_prob, dtype=float)
        if given.shape != (steps - 1,):
            raise ValueError(
                f"continue_prob: expected a float or an array of shape (T - 1,) = "
                f"({steps - 1},), got shape {given.shape}"
            )
        probs[1:] = given
    bad = ~((probs > 0) & (probs <= 1))
    if bad.any():
        t = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"continue_prob: expected probabilities in (0, 1], got {probs[t]} at step {t}; "
            "a probability of 0 gives no chance to the longer paths that the unbiased "
            "estimator reweights by 1 / probability"
        )
    return probs


def randomized_bptt(
    model: object, x: np.ndarray, target: Any, loss: Loss, continue_prob: float | np.ndarray,
    *, stride: int | None = None, seed: Seed = None, reweight: bool = True,
    state: Any = None,
) -> Iterator[Update]:
    """Randomized truncation of BPTT, unbiased by reweighting (Tallec & Ollivier, 2017).

    Before the forward pass, every step ``t`` (on the grid of ``stride``) independently
    becomes a truncation point with probability ``1 - c[t]`` (see
    :func:`~rnnbook.bptt.continue_probabilities`). The sequence is processed as windows between
    truncation points, one :class:`Update` each, the state carried across without its
    gradient. Inside a window, the gradient crossing a step ``t`` that was *not* truncated
    is divided by ``c[t]``: each term of the full gradient, a path back over some steps,
    survives with the product of their ``c`` and is scaled by its inverse, so the sum of
    the updates has the full gradient as its expectation. ``reweight=False`` drops the
    division: plain random truncation, biased like :func:`truncated_bptt`. Unbiased means
    for a loss summed over steps (see the module's note on ``reduction``). The truncation
    points are drawn, and the arguments checked, when the function is called.

    ``x`` ``(T, B, D)``; ``target`` has ``T`` on its first axis; ``continue_prob`` a float or
    ``(T - 1,)``. Summed over the updates, the gradient is the estimator ``g_hat`` of
    eq. :eq:`eq-trunc-estimator` with the weights ``xi_j`` of eq. :eq:`eq-trunc-xi`
    (:doc:`/book/e_remedies/truncation`).
    """
    network = split_model(model)
    _no_bidirectional(network, "randomized truncation")
    steps = _check_sequence(network, x, target)
    probs = continue_probabilities(steps, continue_prob, stride)
    candidates = np.flatnonzero(probs < 1)
    truncated = candidates[make_rng(seed).random(candidates.size) >= probs[candidates]]
    crossed = sorted(set(candidates.tolist()) - set(truncated.tolist()))
    bounds = [0, *map(int, truncated), steps]
    current = network.as_state(state, x.shape[1])
    return _randomized_updates(network, x, target, loss, probs, bounds, crossed, reweight,
                               current)


def _randomized_updates(network, x, target, loss, probs, bounds, crossed, reweight,
                        current) -> Iterator[Update]:
    for first, last in itertools.pairwise(bounds):
        cuts = tuple(t for t in crossed if first < t < last)
        scales = tuple(1.0 / probs[t] if reweight else 1.0 for t in cuts)
        value, grads, states = _window(network, x, target, loss, current, first, first, last,
                                       cuts, scales)
        current = states[-1]
        yield Update(first, last, first, value, grads, network.public_state(current))


def accumulate(updates: Iterator[Update] | list[Update]) -> tuple[float, dict[str, np.ndarray]]:
    """Sum the losses and the gradients of a scheme's updates taken at fixed parameters.

    For a loss summed over steps this is the scheme's estimate of the full gradient.
    Returns ``(loss, grads)`` with ``grads`` keyed and shaped as the model's ``params``.
    """
    total_loss, total = 0.0, None
    for update in updates:
        total_loss += update.loss
        if total is None:
            total = {name: np.array(g, copy=True) for name, g in update.grads.items()}
        else:
            for name, g in update.grads.items():
                total[name] += g
    if total is None:
        raise ValueError("updates: expected at least one update")
    return total_loss, total


# --- the schemes as values, for a training loop ------------------------------------------------


@dataclass(frozen=True)
class FullBPTT:
    """Exact BPTT over each batch: one update per batch (:func:`full_bptt`), for
    :func:`~rnnbook.fit`."""

    def updates(self, model: object, x: np.ndarray, target: Any, loss: Loss, state: Any = None,
                seed: Seed = None) -> Iterator[Update]:
        yield full_bptt(model, x, target, loss, state)


@dataclass(frozen=True)
class TruncatedBPTT:
    """TBPTT(k1, k2) over each batch (:func:`truncated_bptt`), for :func:`~rnnbook.fit`."""

    k1: int
    k2: int | None = None

    def __post_init__(self) -> None:
        truncation_schedule(1, self.k1, self.k2)  # validates k1 and k2 now, not mid-training

    def updates(self, model: object, x: np.ndarray, target: Any, loss: Loss, state: Any = None,
                seed: Seed = None) -> Iterator[Update]:
        return truncated_bptt(model, x, target, loss, self.k1, self.k2, state)


@dataclass(frozen=True)
class RandomizedBPTT:
    """Randomized truncation over each batch (:func:`randomized_bptt`), for
    :func:`~rnnbook.fit`."""

    continue_prob: float | np.ndarray
    stride: int | None = None
    reweight: bool = True

    def __post_init__(self) -> None:
        if np.ndim(self.continue_prob) == 0:  # an array is checked against each batch's T
            continue_probabilities(2, self.continue_prob, self.stride)

    def updates(self, model: object, x: np.ndarray, target: Any, loss: Loss, state: Any = None,
                seed: Seed = None) -> Iterator[Update]:
        return randomized_bptt(model, x, target, loss, self.continue_prob, stride=self.stride,
                               seed=seed, reweight=self.reweight, state=state)


Scheme = FullBPTT | TruncatedBPTT | RandomizedBPTT
