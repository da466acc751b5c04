"""Input validation shared by the package: clear errors instead of silent broadcasting.

Every check names the argument, what was expected and what was given, so that a reader who
passes a ``(B, T, D)`` array to a layer that wants ``(T, B, D)`` learns it from the message.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SUPPORTED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_dtype(dtype: object) -> np.dtype:
    """Return ``np.dtype(dtype)`` if it is float32 or float64, else raise ``TypeError``."""
    try:
        resolved = np.dtype(dtype)
    except TypeError as error:
        raise TypeError(f"dtype: expected float32 or float64, got {dtype!r}") from error
    if resolved not in SUPPORTED_DTYPES:
        raise TypeError(f"dtype: expected float32 or float64, got {resolved}")
    return resolved


def check_array(
    name: str,
    value: object,
    shape: Sequence[int | None],
    dtype: np.dtype,
    *,
    axes: str = "",
) -> np.ndarray:
    """Check that ``value`` is a finite array of ``dtype`` with the given shape.

    ``shape`` may hold ``None`` for an axis of any length; ``axes`` spells the axes out
    (for example ``"(T, B, D)"``) so that the message says what each length means.
    Returns the array itself (never a broadcast or converted copy).
    """
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray, got {type(value).__name__}")
    if value.dtype != dtype:
        raise TypeError(f"{name}: expected dtype {dtype}, got {value.dtype}")
    expected = tuple("*" if n is None else n for n in shape)
    described = f"{axes} = {expected}" if axes else f"{expected}"
    if value.ndim != len(shape):
        raise ValueError(
            f"{name}: expected a {len(shape)}-d array of shape {described}, "
            f"got {value.ndim}-d shape {value.shape}"
        )
    for want, got in zip(shape, value.shape, strict=True):
        if want is not None and want != got:
            raise ValueError(f"{name}: expected shape {described}, got {value.shape}")
    if not np.all(np.isfinite(value)):
        raise ValueError(f"{name}: contains NaN or inf")
    return value


def check_choice(name: str, value: str, choices: Sequence[str]) -> str:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name}: expected one of {tuple(choices)}, got {value!r}")
    return value


def _check_int(name: str, value: object, minimum: int, kind: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name}: expected a {kind} int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name}: expected a {kind} int, got {value}")
    return int(value)


def check_positive_int(name: str, value: object) -> int:
    """Raise unless ``value`` is a positive integer (bools are not integers here)."""
    return _check_int(name, value, 1, "positive")


def check_non_negative_int(name: str, value: object) -> int:
    """Like :func:`check_positive_int`, but 0 is allowed (a delay or an offset may be zero)."""
    return _check_int(name, value, 0, "non-negative")
