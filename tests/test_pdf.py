"""The book's PDF (.ci/build-pdf), built for one chapter and read back.

The command that prints the whole book is the one tested: Jupyter Book's single-page HTML
build, printed by headless Chromium once MathJax is done. Here its table of contents is one
chapter (about 40 s: the chapter executes, then prints to a dozen pages). The PDF is read
with poppler's tools (Debian's poppler-utils: ``pdfinfo``, ``pdftotext``, ``pdfimages``),
which a Python PDF library would replace only at the price of a new dependency.

Without chromium, Playwright or poppler the test is skipped, except in CI (``CI=true``),
where it fails: CI must print the book.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
CHAPTER = "book/c_bptt/bptt_derivation"

# The chapter's first equation, eq-bptt-model, begins z_t = W_{ih} x_t + W_{hh} h_{t-1} + b:
# once MathJax has typeset it, its text in the PDF reads "zt=Wihxt+Whhht−1+b" (subscripts
# become plain letters, the minus sign U+2212); the TeX, which an untypeset page would
# print, reads "W_{ih}" instead.
LABEL = "eq-bptt-model"
# TeX that the chapter's prose uses and its code does not (a code cell may print LaTeX).
RAW_TEX = ("W_{ih}", "h_{t-1}", "$$", "\\begin{", "\\dd{", "\\pd{", "\\sum_{")

# Text of the site's chrome (header, search, navigation) that the page holds and print
# must hide.
CHROME = ("Skip to main content", "Back to top", "Search")


def _require_tools() -> str:
    chromium = os.environ.get("RNNBOOK_CHROMIUM") or shutil.which("chromium")
    missing = [] if chromium else ["chromium"]
    missing += [tool for tool in ("pdfinfo", "pdftotext", "pdfimages") if not shutil.which(tool)]
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("playwright (pip)")
    if missing:
        message = f"the PDF needs {', '.join(missing)} (apt-get install chromium poppler-utils)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return chromium


@pytest.fixture(scope="module")
def chapter(tmp_path_factory):
    """The chapter's PDF, the single page it was printed from, and the command's report."""
    chromium = _require_tools()
    work = tmp_path_factory.mktemp("pdf")
    toc = work / "_toc.yml"
    toc.write_text(f"format: jb-book\nroot: {CHAPTER}\n")
    out = work / "chapter.pdf"
    result = subprocess.run(
        [sys.executable, str(REPOSITORY / ".ci" / "build-pdf"), str(out), "--toc", str(toc),
         "--path-output", str(work), "--chromium", chromium],
        capture_output=True, text=True, timeout=900, cwd=REPOSITORY,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    report = result.stdout.strip().splitlines()[-1]
    return out, work / "_build" / "singlehtml", report


def _pages_text(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    return text.split("\f")[:-1]  # a form feed ends every page


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _prose(notebook: Path) -> tuple[str, str]:
    cells = json.loads(notebook.read_text())["cells"]
    prose = "\n".join("".join(cell["source"]) for cell in cells
                      if cell["cell_type"] == "markdown")
    code = "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")
    return prose, code


def _typeset_text(prose: str, label: str) -> tuple[str, str]:
    """The TeX of the labelled equation up to its first comma, and that TeX as the PDF's
    text reads it once typeset: markup gone, subscripts inline, minus as U+2212."""
    tex = re.search(r"\$\$(.*?)\$\$\s*\(" + re.escape(label) + r"\)", prose, re.S).group(1)
    tex = re.sub(r"\\(begin|end)\{\w+\}", "", tex).split(",")[0]
    text = re.sub(r"[&_{}\s]", "", re.sub(r"\\[a-zA-Z]+", "", tex)).replace("-", "\u2212")
    return tex.strip(), text


def test_page_count_and_no_blank_page(chapter):
    pdf, _, report = chapter
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True,
                          check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    # One chapter of about 4,000 words, 15 code cells and 2 figures: a dozen A4 pages.
    # One page would mean a truncated print; dozens, a page per element.
    assert 6 <= pages <= 30, f"{pages} pages"
    assert f"({pages} pages," in report, report  # the command counts what poppler counts
    texts = _pages_text(pdf)
    assert len(texts) == pages
    blank = [number for number, text in enumerate(texts, start=1) if not text.strip()]
    assert not blank, f"blank pages {blank}"  # no page emptied by a page-break rule


def test_equations_are_typeset(chapter):
    pdf, _, _ = chapter
    text = "".join(_pages_text(pdf))
    prose, code = _prose(REPOSITORY / f"{CHAPTER}.ipynb")
    tex, typeset = _typeset_text(prose, LABEL)
    assert len(typeset) >= 10 and "=" in typeset, (tex, typeset)
    assert typeset in _compact(text), (tex, typeset)
    # Negative control: the TeX the prose holds does not match the typeset form; an
    # untypeset page would print it, and every marker below, as written.
    assert typeset not in _compact(prose)
    for marker in RAW_TEX:
        assert marker in prose and marker not in code, marker
        assert marker not in text, f"raw TeX {marker!r} printed: MathJax did not typeset it"


def test_every_figure_is_in_the_pdf(chapter):
    pdf, site, _ = chapter
    from PIL import Image

    page = (site / "print.html").read_text()
    figures = sorted(set(re.findall(r'<img[^>]*src="(_images/[^"]+\.png)"', page)))
    assert len(figures) >= 2  # the chapter draws the unrolled graph and the triangle
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True,
                             text=True, check=True).stdout.splitlines()[2:]
    sizes = {(int(row.split()[3]), int(row.split()[4])) for row in listing}
    for figure in figures:
        with Image.open(site / figure) as image:
            assert image.size in sizes, f"{figure} {image.size} is not in the PDF"


def test_no_navigation_chrome(chapter):
    pdf, site, _ = chapter
    page = (site / "print.html").read_text()
    present = [text for text in CHROME if text in page]
    assert len(present) >= 2, present  # the page has them: the check below can fail
    text = "".join(_pages_text(pdf))
    for chrome in present:
        assert chrome not in text, f"{chrome!r} printed"
