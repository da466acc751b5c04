"""Optimisers and gradient clipping over dicts of arrays.

An optimiser holds the parameter dict it was given and updates those arrays **in place**,
so that the layers that own them see the change. ``step(grads)`` reads ``grads[name]`` for
every parameter name and ignores other entries (such as ``"input"`` and ``"h0"``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rnnbook.layers import NON_PARAMETER_KEYS


def _check_grads(params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
    for name, value in params.items():
        if name not in grads:
            raise ValueError(f"grads: missing the gradient of {name!r}")
        if grads[name].shape != value.shape:
            raise ValueError(
                f"grads[{name!r}]: expected shape {value.shape}, got {grads[name].shape}"
            )
        if not np.all(np.isfinite(grads[name])):
            raise ValueError(f"grads[{name!r}]: contains NaN or inf")


def _check_lr(lr: float) -> float:
    if not lr > 0:
        raise ValueError(f"lr: expected a positive learning rate, got {lr}")
    return float(lr)


class SGD:
    """Stochastic gradient descent with optional momentum (PyTorch's form).

    ``v <- momentum * v + g``, ``θ <- θ - lr * v`` (with momentum 0: ``θ <- θ - lr * g``).
    Two steps from rest give eq. :eq:`eq-momentum-two-steps` of
    :doc:`/book/c_bptt/learning`. ``params`` maps names to arrays of any shape; each
    velocity has its parameter's shape.
    """

    def __init__(self, params: Mapping[str, np.ndarray], lr: float, momentum: float = 0.0) -> None:
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum: expected a value in [0, 1), got {momentum}")
        self.params = params
        self.lr = _check_lr(lr)
        self.momentum = float(momentum)
        self.velocity = {name: np.zeros_like(value) for name, value in params.items()}

    def step(self, grads: Mapping[str, np.ndarray]) -> None:
        """Update every parameter in place from ``grads[name]`` (same shape; other keys are
        ignored); a missing, misshapen or non-finite gradient raises ``ValueError``."""
        _check_grads(self.params, grads)
        for name, value in self.params.items():
            update = grads[name]
            if self.momentum:
                velocity = self.velocity[name]
                velocity *= self.momentum
                velocity += update
                update = velocity
            value -= self.lr * update


class Adam:
    """Adam (Kingma & Ba, 2015) with bias correction, as in PyTorch.

    ``m <- β1 m + (1 - β1) g``, ``v <- β2 v + (1 - β2) g²``,
    ``θ <- θ - lr * m̂ / (sqrt(v̂) + eps)`` with ``m̂ = m / (1 - β1^k)``, ``v̂ = v / (1 - β2^k)``
    at step ``k``: eqs. :eq:`eq-adam-averages` and :eq:`eq-adam` of
    :doc:`/book/c_bptt/learning`. ``m`` and ``v`` have the shapes of the parameters.
    """

    def __init__(
        self,
        params: Mapping[str, np.ndarray],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        if not all(0 <= beta < 1 for beta in betas):
            raise ValueError(f"betas: expected two values in [0, 1), got {betas}")
        self.params = params
        self.lr = _check_lr(lr)
        self.beta1, self.beta2 = map(float, betas)
        self.eps = float(eps)
        self.steps = 0
        self.m = {name: np.zeros_like(value) for name, value in params.items()}
        self.v = {name: np.zeros_like(value) for name, value in params.items()}

    def step(self, grads: Mapping[str, np.ndarray]) -> None:
        """One Adam step on every parameter, in place, from ``grads[name]`` (as
        :meth:`SGD.step`)."""
        _check_grads(self.params, grads)
        self.steps += 1
        correction1 = 1 - self.beta1**self.steps
        correction2 = 1 - self.beta2**self.steps
        for name, value in self.params.items():
            g, m, v = grads[name], self.m[name], self.v[name]
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            value -= self.lr * (m / correction1) / (np.sqrt(v / correction2) + self.eps)


def _parameter_grads(grads: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {name: g for name, g in grads.items() if name not in NON_PARAMETER_KEYS}


def global_norm(grads: Mapping[str, np.ndarray]) -> float:
    """The L2 norm of all parameter gradients together, as if concatenated.

    ``grads`` maps names to arrays of any shape; ``"input"``, ``"h0"`` and ``"c0"`` are
    left out. Eq. :eq:`eq-global-norm` of :doc:`/book/e_remedies/clipping`.
    """
    return float(np.sqrt(sum(np.sum(g * g) for g in _parameter_grads(grads).values())))


def clip_grad_norm(
    grads: Mapping[str, np.ndarray], max_norm: float
) -> tuple[dict[str, np.ndarray], float]:
    """Rescale the parameter gradients so that their global norm is at most ``max_norm``.

    Returns the clipped gradients (new arrays; the input dict is not changed) and the norm
    *before* clipping (Pascanu, Mikolov & Bengio, 2013). Entries of ``NON_PARAMETER_KEYS``
    are passed through unchanged. Eq. :eq:`eq-clip-norm` of
    :doc:`/book/e_remedies/clipping`, with ``kappa = max_norm``; every array keeps its shape.
    """
    if not max_norm > 0:
        raise ValueError(f"max_norm: expected a positive value, got {max_norm}")
    norm = global_norm(grads)
    factor = min(1.0, max_norm / (norm + 1e-12))
    clipped = {
        name: g if name in NON_PARAMETER_KEYS else g * factor for name, g in grads.items()
    }
    return clipped, norm


def clip_grad_value(grads: Mapping[str, np.ndarray], clip_value: float) -> dict[str, np.ndarray]:
    """Clip every parameter-gradient entry to ``[-clip_value, clip_value]``.

    Returns new arrays of the same shapes (``"input"``, ``"h0"``, ``"c0"`` unchanged).
    Eq. :eq:`eq-clip-value` of :doc:`/book/e_remedies/clipping`, with
    ``kappa = clip_value``: unlike clipping by norm it can turn the gradient's direction.
    """
    if not clip_value > 0:
        raise ValueError(f"clip_value: expected a positive value, got {clip_value}")
    return {
        name: g if name in NON_PARAMETER_KEYS else np.clip(g, -clip_value, clip_value)
        for name, g in grads.items()
    }
