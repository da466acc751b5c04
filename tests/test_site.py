"""The built book, opened page by page in headless Chromium with the network unreachable.

Every HTML page of the site is opened once (tests/site_check.py does the work, in one browser)
and each test below reads one kind of problem from that single run: failed requests, math
not typeset, images not loaded, internal links or anchors that lead nowhere, equations or
tables too wide at 1400 px (none may even need to scroll) and at 400 px (an equation may
scroll inside its own box, never run under its number or off the page).

The site: $RNNBOOK_SITE, else `_build/html` as the README's build command makes it (CI builds
it first, so this reuses it); with neither, the book is built into `_build/html` first
(about 4 minutes). Without Chromium (or Playwright) the tests skip, except in CI (CI=true),
where they fail: CI installs Debian's chromium.

The negative controls build a small site with deliberately broken pages and require the
checker to report each fault on its page, and nothing on the good page: a check that cannot
fail proves nothing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import site_check
import yaml

IN_CI = os.environ.get("CI", "").lower() == "true"


def _chromium() -> str:
    """The Chromium to drive, or a skip (a failure in CI) naming what is missing."""
    missing = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = "Playwright for Python is not installed (pip install -r requirements.txt)"
    chromium = site_check.find_chromium()
    if chromium is None and missing is None:
        missing = ("no Chromium found: install Debian's `chromium` (apt-get install -y "
                   "chromium) or set RNNBOOK_CHROMIUM to a Chromium executable")
    if missing:
        if IN_CI:
            pytest.fail(f"CI must run the browser test, but {missing}", pytrace=False)
        pytest.skip(f"browser test skipped: {missing}")
    return chromium


@pytest.fixture(scope="module")
def chromium() -> str:
    return _chromium()


@pytest.fixture(scope="module")
def report(chromium) -> site_check.Report:
    site = site_check.find_site() or site_check.build_site()
    return site_check.check_site(site, chromium=chromium)


def _passes(report: site_check.Report, category: str) -> None:
    if report.of(category):
        pytest.fail(f"{len(report.pages)} pages of {report.site} opened in "
                    f"{report.seconds:.0f} s\n{report.format(category)}", pytrace=False)


def _toc_files(entry) -> list[str]:
    """Every `file` (and the `root`) of _toc.yml, at any depth (parts, chapters, sections)."""
    if isinstance(entry, list):
        return [f for item in entry for f in _toc_files(item)]
    if isinstance(entry, dict):
        own = [entry[key] for key in ("root", "file") if key in entry]
        return own + [f for key, value in entry.items() if isinstance(value, list)
                      for f in _toc_files(value)]
    return []


def test_every_page_of_the_toc_is_opened(report):
    toc = yaml.safe_load((site_check.ROOT / "_toc.yml").read_text(encoding="utf-8"))
    missing = [f for f in _toc_files(toc) if f + ".html" not in report.pages]
    assert not missing, (f"pages of _toc.yml not in {report.site} (an old build?): {missing}; "
                         f"opened: {report.pages}")


def test_no_failed_request(report):
    _passes(report, "request")


def test_math_is_typeset(report):
    _passes(report, "math")


def test_every_image_loads(report):
    _passes(report, "image")


def test_internal_links_and_anchors_resolve(report):
    _passes(report, "link")


def test_nothing_too_wide_at_1400_px(report):
    _passes(report, f"fit{site_check.WIDE}")


def test_nothing_too_wide_at_400_px(report):
    _passes(report, f"fit{site_check.NARROW}")


# --- negative controls ------------------------------------------------------------------

# A page as Sphinx lays one out: the text column is article.bd-article.
_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{name}</title>
<style>
  body {{ margin: 0; font: 16px sans-serif; }}
  article.bd-article {{ max-width: 800px; margin: 0 auto; padding: 0 8px; }}
  .eqno {{ float: right; }}
  {style}
</style>
{head}</head>
<body><article class="bd-article">
<h1 id="top-heading">{name}</h1>
{body}
</article></body></html>
"""

# MathJax's own CHTML rules for a displayed equation, for pages whose math is written out as
# MathJax's output (when the repository ships no MathJax to typeset it for real).
_CHTML_STYLE = """mjx-container[display="true"] { display: block; text-align: center;
  margin: 1em 0; } mjx-math { display: inline-block; height: 1.2em; }"""

_DOT_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20">'
            '<circle cx="10" cy="10" r="8"/></svg>')


def _equation(ident: str, number: str, width: int, mathjax: bool) -> str:
    """A numbered displayed equation `width` px wide, as Sphinx writes it: TeX for a real
    MathJax to typeset, or MathJax's output already in place."""
    eqno = f'<span class="eqno">({number})<a class="headerlink" href="#{ident}">#</a></span>'
    if mathjax:
        inner = rf"\[ a = b \hspace{{{width}px}} c \]"
    else:
        inner = ('<mjx-container class="MathJax" jax="CHTML" display="true">'
                 f'<mjx-math style="width: {width}px"></mjx-math></mjx-container>')
    return f'<div class="math notranslate nohighlight" id="{ident}">{eqno}{inner}</div>'


def _inline(mathjax: bool) -> str:
    if mathjax:
        return r'<span class="math notranslate nohighlight">\(x^2\)</span>'
    return ('<span class="math notranslate nohighlight"><mjx-container class="MathJax" '
            'jax="CHTML"><mjx-math style="width: 2em"></mjx-math></mjx-container></span>')


def make_control_site(folder: Path, mathjax_dir: Path | None) -> Path:
    """Pages named for what is wrong with them ('good' has nothing wrong). With
    `mathjax_dir` (the repository's MathJax) the math is TeX that MathJax typesets; without,
    the pages carry MathJax's output written out."""
    real = mathjax_dir is not None
    head = ""
    style = "" if real else _CHTML_STYLE
    if real:
        shutil.copytree(mathjax_dir, folder / "mathjax")
        script = next((folder / "mathjax").rglob("tex-*.js")).relative_to(folder).as_posix()
        head = f'<script defer src="{script}"></script>'
    (folder / "dot.svg").write_text(_DOT_SVG, encoding="utf-8")

    def eq(ident: str, number: str, width: int) -> str:
        return _equation(ident, number, width, real)

    pages = {
        "good": (
            f"<p>Inline {_inline(real)} and a displayed equation:</p>"
            + eq("equation-short", "1.1", 200)
            + '<p><img src="dot.svg" alt="a dot"> <a href="other.html#section">a section</a>'
            ' <a href="#equation-short">(1.1)</a> <a href="#">top</a>'
            ' <a href="https://example.org/">outside</a></p>'
            '<div style="overflow-x: auto"><table><tr><td style="min-width: 1500px">'
            'a wide table in its own scrolling box</td></tr></table></div>'),
        "other": '<h2 id="section">Section</h2><p>Nothing wrong here either.</p>',
        "raw_tex": (r'<p>MathJax never came: <span class="math notranslate nohighlight">'
                    r"\(\pd{c_t}{c_{t-1}}\)</span> and $$ a = b $$ in a paragraph.</p>"),
        "missing_image": '<p><img src="missing.png" alt="gone"></p>',
        "dead_link": ('<p><a href="nowhere.html">a page that is not there</a> and '
                      '<a href="other.html#no-such-section">an anchor that is not there</a>'
                      "</p>"),
        "overflow": eq("equation-long", "2.1", 1500),
        "narrow_overflow": eq("equation-medium", "3.1", 600),
        "narrow_scroll": eq("equation-medium", "3.2", 600),
        "under_number": eq("equation-under", "4.1", 740),
        "wide_table": '<table><tr><td style="min-width: 1500px">13 columns</td></tr></table>',
        "offline": '<p><img src="https://cdn.example.org/figure.png" alt="remote"></p>',
    }
    for name, body in pages.items():
        extra = {"narrow_scroll": 'mjx-container[display="true"] { overflow-x: auto; }',
                 # the number laid over the equation's line instead of beside it
                 "under_number": "div.math { position: relative; } "
                                 ".eqno { position: absolute; right: 0; top: 50%; "
                                 "transform: translateY(-50%); }",
                 }.get(name, "")
        page_head = head if real and name != "raw_tex" else ""
        (folder / f"{name}.html").write_text(
            _PAGE.format(name=name, head=page_head, style=style + extra, body=body),
            encoding="utf-8")
    (folder / "index.html").write_text(
        _PAGE.format(name="index", head="", style="",
                     body="".join(f'<p><a href="{n}.html">{n}</a></p>' for n in pages)),
        encoding="utf-8")
    return folder


def _shipped_mathjax() -> Path | None:
    """The MathJax the repository ships for the book, if any (its folder)."""
    for script in sorted(site_check.ROOT.glob("book/**/tex-*.js")):
        if "_build" not in script.parts:
            folder = script.parent
            while folder.parent != site_check.ROOT / "book" and not (folder / "LICENSE").exists():
                folder = folder.parent
            return folder
    return None


@pytest.fixture(scope="module", params=["mathjax-output", "mathjax"])
def controls(request, chromium, tmp_path_factory) -> site_check.Report:
    mathjax_dir = None
    if request.param == "mathjax":
        mathjax_dir = _shipped_mathjax()
        if mathjax_dir is None:
            pytest.skip("the repository ships no MathJax (book/**/tex-*.js) to typeset with")
    site = make_control_site(tmp_path_factory.mktemp(request.param), mathjax_dir)
    return site_check.check_site(site, chromium=chromium)


def _messages(report, page, category):
    return [p.message for p in report.problems if p.page == page and p.category == category]


def test_control_good_pages_pass(controls):
    for page in ("good.html", "other.html", "index.html"):
        found = [str(p) for p in controls.problems if p.page == page]
        assert not found, "\n".join(found)


def test_control_raw_tex_is_reported(controls):
    messages = _messages(controls, "raw_tex.html", "math")
    assert any("not typeset" in m for m in messages), messages
    assert any("raw TeX" in m and "$$" in m and r"\(" in m for m in messages), messages


def test_control_missing_image_is_reported(controls):
    assert _messages(controls, "missing_image.html", "image") == ["image not loaded: missing.png"]
    assert any("HTTP 404: missing.png" in m
               for m in _messages(controls, "missing_image.html", "request"))


def test_control_dead_link_and_anchor_are_reported(controls):
    messages = _messages(controls, "dead_link.html", "link")
    assert messages == ["link 'nowhere.html': no file nowhere.html",
                        "link 'other.html#no-such-section': no id 'no-such-section' in "
                        "other.html"], messages


def test_control_overflowing_equation_is_reported(controls):
    wide = _messages(controls, "overflow.html", f"fit{site_check.WIDE}")
    assert any("equation (2.1)" in m and "needs 15" in m and "running over" in m
               for m in wide), wide
    assert any("page scrolls sideways" in m for m in wide), wide
    assert _messages(controls, "overflow.html", f"fit{site_check.NARROW}")


def test_control_equation_under_its_number_is_reported(controls):
    wide = _messages(controls, "under_number.html", f"fit{site_check.WIDE}")
    assert len(wide) == 1 and "equation (4.1)" in wide[0] and "runs under its number" in wide[0], \
        wide


def test_control_the_narrow_rule(controls):
    """600 px fits the 800 px column at 1400 px; at 400 px it must scroll in its own box."""
    for page in ("narrow_overflow.html", "narrow_scroll.html"):
        assert not _messages(controls, page, f"fit{site_check.WIDE}"), page
    narrow = _messages(controls, "narrow_overflow.html", f"fit{site_check.NARROW}")
    assert any("equation (3.1)" in m and "does not scroll" in m for m in narrow), narrow
    assert not _messages(controls, "narrow_scroll.html", f"fit{site_check.NARROW}")


def test_control_wide_table_is_reported(controls):
    assert any("table" in m and "sticks out" in m
               for m in _messages(controls, "wide_table.html", f"fit{site_check.WIDE}"))


def test_control_network_is_unreachable(controls):
    messages = _messages(controls, "offline.html", "request")
    assert any("cdn.example.org" in m and "ERR_NAME_NOT_RESOLVED" in m for m in messages), \
        messages
