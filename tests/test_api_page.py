"""The API reference (book/api.md) documents the whole public API, and nothing twice.

Sphinx's autodoc renders what the page names; a name left out is silently missing from the
book. So: every name of ``rnnbook.__all__``, every public module, and every name a chapter
imports from the package has a directive on the page, and each object has one.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from pathlib import Path

import rnnbook

REPOSITORY = Path(__file__).resolve().parents[1]
PAGE = REPOSITORY / "book" / "api.md"
DIRECTIVE = re.compile(r"^\.\. auto(?:function|class|data):: (\S+)", re.M)
MODULE = re.compile(r"^\.\. automodule:: (\S+)", re.M)


def _documented() -> list[str]:
    """The objects the page documents (modules apart: :func:`_modules`)."""
    return DIRECTIVE.findall(PAGE.read_text())


def _modules() -> set[str]:
    return set(MODULE.findall(PAGE.read_text()))


def _resolve(dotted: str):
    """The object a directive names, as autodoc finds a module-level one: the attribute
    named last, of the module named by the rest (``rnnbook.gradcheck`` is the function the
    package exports, ``rnnbook.gradcheck.GradcheckReport`` a class of the module)."""
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_every_directive_names_an_object_once():
    names = _documented()
    assert len(names) > 100
    objects = [(name, _resolve(name)) for name in names]
    seen: dict[int, str] = {}
    for name, value in objects:
        if isinstance(value, str | tuple | dict):  # data: the same value may be two names
            continue
        assert id(value) not in seen, f"{name} is documented twice (as {seen[id(value)]})"
        seen[id(value)] = name


def test_every_name_of_all_is_documented():
    documented = {id(_resolve(name)) for name in _documented()}
    documented_names = set(_documented())
    missing = [name for name in rnnbook.__all__
               if f"rnnbook.{name}" not in documented_names
               and id(getattr(rnnbook, name)) not in documented]
    assert not missing, f"add to book/api.md: {missing}"


def test_every_public_module_appears():
    modules = {info.name for info in pkgutil.iter_modules(rnnbook.__path__)
               if not info.name.startswith("_")}
    homes = _modules() | {getattr(_resolve(name), "__module__", None) for name in _documented()}
    missing = sorted(m for m in modules if f"rnnbook.{m}" not in homes)
    assert not missing, f"public modules with nothing on book/api.md: {missing}"


def test_every_name_a_chapter_imports_is_documented():
    imports = re.compile(r"from rnnbook\.(\w+) import (?:\(([^)]*)\)|([\w ,]+))")
    used = set()
    for notebook in (REPOSITORY / "book").rglob("*.ipynb"):
        if ".ipynb_checkpoints" in notebook.parts or "_build" in notebook.parts:
            continue
        cells = json.loads(notebook.read_text())["cells"]
        code = "\n".join("".join(cell["source"]) for cell in cells
                         if cell["cell_type"] == "code")
        for module, grouped, inline in imports.findall(code):
            names = re.sub(r"#.*", "", grouped or inline)
            if module.startswith("_"):
                continue
            used |= {(module, name.strip()) for name in names.split(",")
                     if name.strip() and not name.strip().startswith("_")}
    assert len(used) > 20  # the pattern reads the chapters' imports
    documented = {id(_resolve(name)) for name in _documented()}
    missing = sorted(f"rnnbook.{module}.{name}" for module, name in used
                     if id(getattr(importlib.import_module(f"rnnbook.{module}"), name))
                     not in documented
                     and not isinstance(getattr(importlib.import_module(f"rnnbook.{module}"),
                                                name), str | tuple | dict)
                     and f"rnnbook.{module}.{name}" not in _documented())
    assert not missing, f"chapters import these; add them to book/api.md: {missing}"
