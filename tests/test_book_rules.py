"""The book's own rules: clean notebooks, a table of contents that matches the files,
and a derivation that checks itself in every chapter."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
NOTEBOOKS = sorted(BOOK.rglob("*.ipynb"))
CHAPTER_FILES = sorted(
    p for p in BOOK.rglob("*") if p.suffix in {".ipynb", ".md"} and ".ipynb_checkpoints" not in p.parts
)


def toc_entries() -> list[str]:
    text = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    return re.findall(r"^\s*(?:-\s*)?(?:file|root):\s*(\S+)\s*$", text, flags=re.MULTILINE)


def test_there_are_notebooks():
    assert NOTEBOOKS, "the book has no notebooks"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_is_stored_without_outputs(notebook):
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    dirty = [
        i for i, cell in enumerate(cells)
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]
    assert not dirty, f"{notebook.name}: cells {dirty} hold outputs or execution counts"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_asserts_something(notebook):
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert re.search(r"\bassert\b|np\.testing\.assert_", code), f"{notebook.name} asserts nothing"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_seeds_its_generator(notebook):
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    first_code = next("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert "np.random.default_rng(" in first_code, f"{notebook.name}: first code cell must seed"
    assert "np.random.seed" not in first_code


def test_every_chapter_file_is_in_the_toc():
    listed = set(toc_entries())
    missing = [
        str(p.relative_to(ROOT)) for p in CHAPTER_FILES
        if str(p.relative_to(ROOT).with_suffix("")) not in listed
    ]
    assert not missing, f"not in _toc.yml: {missing}"


def test_every_toc_entry_exists():
    absent = [
        entry for entry in toc_entries()
        if not any((ROOT / f"{entry}{suffix}").exists() for suffix in (".md", ".ipynb"))
    ]
    assert not absent, f"_toc.yml lists files that do not exist: {absent}"


def test_every_citation_is_in_the_bibliography():
    keys = set(re.findall(r"@\w+\{([^,]+),", (BOOK / "references.bib").read_text("utf-8")))
    cited = set()
    for path in CHAPTER_FILES:
        text = path.read_text(encoding="utf-8")
        for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", text):
            cited.update(key.strip() for key in group.split(","))
    assert cited <= keys, f"cited but not in references.bib: {sorted(cited - keys)}"
