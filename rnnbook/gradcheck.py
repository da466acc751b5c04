"""Gradient checking by centred finite differences, in float64.

``dL/dθ_i ≈ (L(θ + ε e_i) - L(θ - ε e_i)) / 2ε`` has error O(ε²) from truncation and
O(u/ε) from rounding (u ≈ 1e-16 in float64), so ε ≈ 1e-6 leaves about 1e-10 of each.
In float32 (u ≈ 6e-8) no ε gives a useful check, which is why float32 is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np


def numerical_gradient(
    loss: Callable[[], float], array: np.ndarray, eps: float = 1e-6
) -> np.ndarray:
    """Centred differences of ``loss()`` with respect to every entry of ``array``.

    ``array`` is perturbed in place, one entry at a time, and restored exactly; ``loss``
    takes no arguments and must read ``array`` (a parameter, an input or a state).
    Returns an array of the shape of ``array``: eq. :eq:`eq-centred-difference` of
    :doc:`/book/g_practice/debugging` for each entry ``i``, with ``ε = eps``.
    """
    if not isinstance(array, np.ndarray) or array.dtype != np.float64:
        got = array.dtype if isinstance(array, np.ndarray) else type(array).__name__
        raise TypeError(f"array: finite differences need float64, got {got}")
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + eps
        plus = loss()
        array[index] = saved - eps
        minus = loss()
        array[index] = saved
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """``||a - n|| / max(||a|| + ||n||, tiny)``: 0 when equal, 1 when one is zero or opposite.

    ``analytic`` and ``numeric`` of the same shape, any; Frobenius norms over all entries.
    Eq. :eq:`eq-relative-error` of :doc:`/book/g_practice/debugging`.
    """
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return float(np.linalg.norm(analytic - numeric) / max(scale, 1e-300))


@dataclass(frozen=True)
class GradcheckRow:
    """One checked array: its name and shape, the relative error of
    :func:`~rnnbook.relative_error`, the largest entrywise error and ``||numeric||``."""

    name: str
    shape: tuple[int, ...]
    relative_error: float
    max_abs_error: float
    grad_norm: float


@dataclass(frozen=True)
class GradcheckReport:
    """One row per checked array; ``str(report)`` is a readable table."""

    rows: tuple[GradcheckRow, ...]

    @property
    def max_relative_error(self) -> float:
        """The worst relative error over the checked arrays."""
        return max(row.relative_error for row in self.rows)

    def passed(self, tolerance: float = 1e-6) -> bool:
        """True if every array's relative error is below ``tolerance``."""
        return self.max_relative_error < tolerance

    def __str__(self) -> str:
        width = max(len(row.name) for row in self.rows)
        header = f"{'array':<{width}}  {'shape':>14}  {'|numeric|':>9}  {'rel. error':>10}  "
        lines = [header + f"{'max abs':>9}"]
        for row in self.rows:
            lines.append(
                f"{row.name:<{width}}  {row.shape!s:>14}  {row.grad_norm:9.2e}  "
                f"{row.relative_error:10.2e}  {row.max_abs_error:9.2e}"
            )
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle: bool) -> None:  # IPython shows the table
        printer.text(str(self))


def gradcheck(
    loss: Callable[[], float],
    arrays: Mapping[str, np.ndarray],
    grads: Mapping[str, np.ndarray],
    eps: float = 1e-6,
) -> GradcheckReport:
    """Compare analytic ``grads`` with finite differences of ``loss`` for each array.

    ``arrays`` maps a name to the array ``loss`` reads (perturbed in place and restored);
    ``grads`` holds the analytic gradient under the same name, of the same shape. Each row
    of the returned :class:`~rnnbook.gradcheck.GradcheckReport` compares them by
    eq. :eq:`eq-relative-error` of :doc:`/book/g_practice/debugging`; the book's tests
    require less than ``1e-6`` in float64 (:meth:`~rnnbook.gradcheck.GradcheckReport.passed`).
    """
    rows = []
    for name, array in arrays.items():
        if name not in grads:
            raise ValueError(f"grads: no analytic gradient for {name!r}")
        analytic = np.asarray(grads[name])
        if analytic.shape != array.shape:
            raise ValueError(f"grads[{name!r}]: expected shape {array.shape}, got {analytic.shape}")
        numeric = numerical_gradient(loss, array, eps)
        rows.append(GradcheckRow(
            name=name,
            shape=array.shape,
            relative_error=relative_error(analytic, numeric),
            max_abs_error=float(np.max(np.abs(analytic - numeric), initial=0.0)),
            grad_norm=float(np.linalg.norm(numeric)),
        ))
    return GradcheckReport(rows=tuple(rows))
