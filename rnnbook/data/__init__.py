"""Data shipped with the package: the corpus and the stored results that chapters read.

A chapter that shows a stored result (a benchmark, a long training run) reads it from here,
so the notebook runs wherever ``rnnbook`` is installed, also when it is opened on its own.
``README.md`` in this folder says what each file is, where it comes from, and how to make it
again.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

__all__ = ["load_result", "result_names"]


def result_names() -> list[str]:
    """The names of the stored results, for :func:`load_result` (sorted)."""
    folder = resources.files(__name__)
    return sorted(item.name.removesuffix(".json") for item in folder.iterdir()
                  if item.name.endswith(".json"))


def load_result(name: str) -> dict[str, Any]:
    """The stored result ``name`` (the file ``NAME.json`` of this folder), as a dict.

    >>> load_result("benchmark_bptt")["threads"]
    2
    """
    if not isinstance(name, str):
        raise TypeError(f"name: expected a str, got {type(name).__name__}")
    names = result_names()
    if name not in names:
        raise ValueError(f"name: expected one of {names}, got {name!r}")
    text = resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8")
    return json.loads(text)
