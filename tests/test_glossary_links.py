"""Every chapter links the first use of each glossary term to the glossary (issue 14).

The links are inserted by `.ci/link_terms.py`; this test runs it without writing and fails
when a chapter (a new one, or new text in an old one) uses a glossary term that is not
linked yet. Fix: `python .ci/link_terms.py book/PART/CHAPTER.ipynb`.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / ".ci" / "link_terms.py"


def _link_terms():
    spec = importlib.util.spec_from_file_location("link_terms", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def _chapters() -> list[Path]:
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    files = re.findall(r"file:\s*(book/\S+)", toc)
    return [
        ROOT / f"{name}.ipynb"
        for name in files
        if "assignments" not in name and (ROOT / f"{name}.ipynb").is_file()
    ]


@pytest.mark.parametrize("chapter", _chapters(), ids=lambda p: p.stem)
def test_first_use_of_each_term_is_linked(chapter):
    module = _link_terms()
    missing = module.link_notebook(chapter, ROOT / "book" / "notation.md", dry_run=True)
    assert not missing, (
        f"{chapter.relative_to(ROOT)} uses glossary terms it does not link: {missing}; "
        f"run python .ci/link_terms.py {chapter.relative_to(ROOT)}"
    )


def test_the_check_can_fail(tmp_path):
    """A chapter whose first 'hidden state' is plain text is reported."""
    module = _link_terms()
    cell = {"cell_type": "markdown", "id": "a", "metadata": {}, "source": ["The hidden state."]}
    notebook = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "chapter.ipynb"
    path.write_text(json.dumps(notebook, indent=1) + "\n", encoding="utf-8")
    log = module.link_notebook(path, ROOT / "book" / "notation.md", dry_run=True)
    assert any("hidden state" in line for line in log)
