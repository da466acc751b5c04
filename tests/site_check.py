"""Open every page of the built book in headless Chromium and list what a reader would see
broken: failed requests, untypeset math, images that do not load, links and anchors that lead
nowhere, and equations or tables too wide for their column.

Used by tests/test_site.py, and runnable on its own:

    python tests/site_check.py [SITE]             # the report for a built site (_build/html)
    python tests/site_check.py --screenshot PNG   # the README's screenshot of a chapter page

Driver: Playwright for Python with the system's Chromium (Debian's `chromium`) as its
executable, so nothing is downloaded at run time. It was chosen over Selenium with
`chromium-driver` because it waits on events instead of polling: every request that fails
and every response >= 400 is reported to the page as it happens (Selenium has no network
events without Chrome's logging or CDP), a script's promise is awaited directly (MathJax's
startup promise: the page is measured once typeset), and one pip package is the whole
driver, with no second binary to match to the browser's version.

Every host except 127.0.0.1 is unreachable for the browser (--host-resolver-rules), so a
page that needs the network (MathJax from a CDN, a web font) fails here as it would for a
reader offline.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import html.parser
import os
import posixpath
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]

# The two widths the book must read at: a laptop's (no equation may need scrolling) and a
# phone's (an equation may scroll inside its own box, never run under its number or off the
# page).
WIDE, NARROW = 1400, 400
HEIGHT = 900

# The categories of a report, in the order they are printed.
CATEGORIES = {
    "request": "failed requests and uncaught script errors",
    "math": "math not typeset",
    "image": "images that do not load",
    "link": "internal links and anchors that lead nowhere",
    f"fit{WIDE}": f"equations, tables or the page too wide at {WIDE} px",
    f"fit{NARROW}": f"equations, tables or the page too wide at {NARROW} px",
}

# Folders of a Sphinx build that hold assets and sources, not pages.
NOT_PAGES = {"_static", "_sources", "_images", "_mathjax", ".doctrees"}

# Headless Chromium as this machine (and CI, which runs as root in a container) needs it.
CHROMIUM_ARGS = [
    # No host but the test server resolves: a page that reaches out fails visibly.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--disable-gpu",            # no GPU here; skips probing for one
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # no update, safe-browsing or metrics requests
    "--disable-component-update",
    "--disable-sync",
]
# Playwright starts Chromium with a fresh temporary profile (--user-data-dir) of its own.


def find_chromium() -> str | None:
    """The Chromium to drive: $RNNBOOK_CHROMIUM, else Debian's /usr/bin/chromium, else one
    on PATH. None when there is none."""
    named = os.environ.get("RNNBOOK_CHROMIUM")
    if named:
        return named if Path(named).exists() else None
    for candidate in ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(candidate)
        if found:
            return found
    return None


def find_site(root: Path = ROOT) -> Path | None:
    """The built site to check: $RNNBOOK_SITE (a folder with index.html; an error if it has
    none), else the README's build folder `_build/html` of the repository, else None."""
    named = os.environ.get("RNNBOOK_SITE")
    if named:
        if not (Path(named) / "index.html").is_file():
            raise FileNotFoundError(f"RNNBOOK_SITE={named} has no index.html")
        return Path(named)
    site = root / "_build" / "html"
    return site if (site / "index.html").is_file() else None


def build_site(root: Path = ROOT) -> Path:
    """Build the book into the repository's `_build/html`, where the README's build command
    puts it, so that the next run and the reader reuse it (a temporary build would be thrown
    away and redone, about 4 minutes each time). Not strict: warnings are the strict build's
    business, this only needs pages to open."""
    executable = Path(sys.executable).with_name("jupyter-book")
    command = [str(executable) if executable.exists() else "jupyter-book", "build", str(root)]
    run = subprocess.run(command, cwd=root, capture_output=True, text=True)
    site = root / "_build" / "html"
    if run.returncode or not (site / "index.html").is_file():
        tail = "\n".join((run.stdout + run.stderr).splitlines()[-30:])
        raise RuntimeError(f"`{' '.join(command)}` failed (exit {run.returncode}):\n{tail}")
    return site


def site_pages(site: Path) -> list[str]:
    """Every HTML page of the site, as paths relative to it ('book/c_bptt/walkthrough.html'),
    sorted. The index and search pages are pages a reader opens too, so they are kept."""
    pages = []
    for path in sorted(site.rglob("*.html")):
        relative = path.relative_to(site)
        if not NOT_PAGES.intersection(relative.parts[:-1]):
            pages.append(relative.as_posix())
    return pages


@dataclass
class Problem:
    page: str        # relative to the site
    category: str    # a key of CATEGORIES
    message: str

    def __str__(self) -> str:
        return f"{self.page}: {self.message}"


@dataclass
class Report:
    site: Path
    pages: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0

    def of(self, category: str) -> list[Problem]:
        return [p for p in self.problems if p.category == category]

    def format(self, category: str | None = None) -> str:
        """A readable list: by category, then by page, one problem a line."""
        lines = []
        for key in [category] if category else list(CATEGORIES):
            problems = self.of(key)
            if not problems:
                continue
            lines.append(f"{CATEGORIES[key]} ({len(problems)} on "
                         f"{len({p.page for p in problems})} of {len(self.pages)} pages):")
            page = None
            for problem in problems:
                if problem.page != page:
                    page = problem.page
                    lines.append(f"  {page}")
                lines.append(f"    - {problem.message}")
        return "\n".join(lines)


# --- serving ---------------------------------------------------------------------------

class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@contextlib.contextmanager
def serve(site: Path) -> Iterator[str]:
    """Serve `site` on 127.0.0.1 at a free port, in a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextlib.contextmanager
def browser(chromium: str | None = None):
    """One headless Chromium for a whole run (a page each is cheap, a browser is not)."""
    from playwright.sync_api import sync_playwright

    executable = chromium or find_chromium()
    if executable is None:
        raise RuntimeError("no Chromium found (apt-get install chromium, or set "
                           "RNNBOOK_CHROMIUM to its path)")
    args = list(CHROMIUM_ARGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to start its sandbox as root
    with sync_playwright() as playwright:
        # Scrollbars as a reader has them (Playwright hides them by default): they take
        # width from the page, and a box that scrolls shows its scrollbar.
        instance = playwright.chromium.launch(
            executable_path=executable, headless=True, args=args,
            ignore_default_args=["--hide-scrollbars"])
        try:
            yield instance
        finally:
            instance.close()


# --- static facts: which ids each file has --------------------------------------------

class _IdCollector(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value and (name == "id" or (name == "name" and tag == "a")):
                self.ids.add(value)


@functools.cache
def _ids_in(path: Path) -> frozenset[str]:
    collector = _IdCollector()
    collector.feed(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(collector.ids)


def link_problem(site: Path, page: str, href: str, url: str, base: str) -> str | None:
    """Why the internal link `url` (absolute, as the browser resolved `href` on `page`) leads
    nowhere, or None when its file exists and so does its #anchor. Anchors are looked up in
    the target's HTML as served (ids a script adds later do not count)."""
    parts = urlsplit(url)
    path = unquote(parts.path[len(urlsplit(base).path):])
    target = site / path
    if path == "" or path.endswith("/") or target.is_dir():
        target = target / "index.html"
    if not target.is_file():
        return f"link {href!r}: no file {target.relative_to(site).as_posix()}"
    anchor = unquote(parts.fragment)
    if anchor and anchor != "top" and target.suffix == ".html" and anchor not in _ids_in(target):
        where = "this page" if target == site / page else target.relative_to(site).as_posix()
        return f"link {href!r}: no id {anchor!r} in {where}"
    return None


# --- in the page ------------------------------------------------------------------------

# Raw TeX a reader would see, outside code (code shows TeX verbatim on purpose, e.g. a
# matplotlib label r"$\alpha$"): math delimiters, and TeX commands with an argument.
RAW_TEX = re.compile(r"\$\$|\\\(|\\\)|\\\[|\\\]|\\[A-Za-z]+\{|\$[^$\n]*\\[A-Za-z]+[^$\n]*\$")

# MathJax has typeset the page when its startup promise resolves; 30 s at most.
_WAIT_FOR_MATH = """async () => {
  const mj = window.MathJax;
  if (!(mj && mj.startup && mj.startup.promise)) return false;
  const late = new Promise(done => setTimeout(() => done(false), 30000));
  return await Promise.race([mj.startup.promise.then(() => true), late]);
}"""

# A page that only forwards the reader (the site's index.html) is checked as a link.
_REFRESH = re.compile(r"""<meta\s+http-equiv=["']refresh["']\s+content=["']\d+;\s*url=([^"']+)""",
                      re.IGNORECASE)

_MATH_FACTS = """() => {
  const skip = 'pre, code, script, style, textarea, mjx-container, .highlight';
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.parentElement && !n.parentElement.closest(skip)) texts.push(n.nodeValue);
  }
  const untypeset = [];
  for (const el of document.querySelectorAll('.math')) {
    if (!el.querySelector('mjx-container')) untypeset.push(el.textContent.trim());
  }
  const errors = [];
  for (const el of document.querySelectorAll('mjx-merror')) {
    errors.push(el.getAttribute('data-mjx-error') || el.textContent);
  }
  return {text: texts.join(' '), untypeset, errors,
          typeset: document.querySelectorAll('mjx-container').length,
          mathjax: !!(window.MathJax && window.MathJax.startup)};
}"""

_IMAGES = """async () => {
  const images = Array.from(document.images);
  for (const img of images) img.loading = 'eager';   // lazy images off screen load too
  await Promise.all(images.map(img => img.complete ? null : new Promise(done => {
    img.addEventListener('load', done); img.addEventListener('error', done);
    setTimeout(done, 10000);
  })));
  return images.filter(img => !(img.complete && img.naturalWidth > 0))
               .map(img => img.getAttribute('src') || '(no src)');
}"""

_LINKS = """() => Array.from(document.querySelectorAll('a[href]'))
  .map(a => [a.getAttribute('href'), a.href])"""

# Show what a reader can open: collapsed solutions and dropdowns are measured open.
_OPEN_EVERYTHING = """() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
  document.querySelectorAll('.toggle-details__container, .toggle-details')
    .forEach(e => { e.style.display = ''; });
}"""

# The fit rule, for each displayed equation (a Sphinx div.math, or a MathJax display
# container outside one) and each table in the article:
#  * the box must lie inside the text column (the article) and the viewport;
#  * an equation's formula must not overlap its number (the visible part, if it scrolls);
#  * the content must fit the box (formula or table no wider than the box), except that
#    where scrolling is allowed (tables always, equations at the narrow width) it may be
#    wider if an element between it and the box, or the box itself, scrolls sideways.
# And the page itself must not scroll sideways.
_FIT = """(allowEquationScroll) => {
  const out = [];
  const px = x => Math.round(x);
  const column = (document.querySelector('article.bd-article') ||
                  document.querySelector('main') || document.body).getBoundingClientRect();
  const viewport = document.documentElement.clientWidth;
  const scrolls = el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
  const clips = el => getComputedStyle(el).overflowX !== 'visible';
  const clipper = (inner, outer) => {    // the nearest element from inner to outer that clips
    for (let el = inner; el; el = el.parentElement) {
      if (clips(el)) return el;
      if (el === outer) break;
    }
    return null;
  };
  const scroller = (inner, outer) => {   // the nearest scrolling element from inner to outer
    for (let el = inner; el; el = el.parentElement) {
      if (scrolls(el)) return el;
      if (el === outer) break;
    }
    return null;
  };
  const overlap = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 &&
                            Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
  const clip = (a, b) => ({left: Math.max(a.left, b.left), right: Math.min(a.right, b.right),
                           top: Math.max(a.top, b.top), bottom: Math.min(a.bottom, b.bottom)});
  const placed = (what, box) => {
    const r = box.getBoundingClientRect();
    if (r.right > column.right + 1 || r.left < column.left - 1)
      return `${what} sticks out of the text column: its box spans ${px(r.left)}-` +
             `${px(r.right)} px, the column ${px(column.left)}-${px(column.right)} px`;
    if (r.right > viewport + 1) return `${what} runs off the page (right edge ${px(r.right)} ` +
                                       `px, viewport ${viewport} px)`;
    return null;
  };
  const tex = box => {
    try {
      const items = MathJax.startup.document.getMathItemsWithin(box);
      if (items.length) return items.map(i => i.math).join(' ');
    } catch (e) { /* MathJax absent: fall back to the text */ }
    return box.textContent;
  };
  const seen = new Set();
  for (const container of document.querySelectorAll('div.math, mjx-container[display="true"]')) {
    const box = container.closest('div.math') || container;
    if (seen.has(box)) continue;
    seen.add(box);
    const formula = box.querySelector('mjx-container mjx-math') ||
                    (box.matches('mjx-container') && box.querySelector('mjx-math'));
    if (!formula) continue;               // not typeset: the math check reports it
    const b = box.getBoundingClientRect();
    if (b.width === 0 && b.height === 0) continue;   // not displayed at all
    const eqno = box.querySelector('.eqno');
    let number = '';
    let numberRect = null;
    if (eqno && eqno.firstChild) {
      number = eqno.firstChild.textContent.trim();
      const range = document.createRange();
      range.selectNodeContents(eqno.firstChild);
      numberRect = range.getBoundingClientRect();
    }
    const snippet = tex(box).replace(/\\s+/g, ' ').trim();
    const what = 'equation ' + (number || '(unnumbered)') + (box.id ? ` #${box.id}` : '') +
                 ` "${snippet.length > 60 ? snippet.slice(0, 57) + '...' : snippet}"`;
    const f = formula.getBoundingClientRect();
    // The formula is seen through the innermost element that clips it (in the book's theme
    // the MathJax container, which scrolls), else through the equation's box.
    const frame = clipper(formula.closest('mjx-container'), box) || box;
    const s = scrolls(frame) ? frame : null;
    const fr = frame.getBoundingClientRect();
    const left = fr.left + frame.clientLeft;
    const right = left + (clips(frame) ? frame.clientWidth : fr.width);
    const problems = [];
    const place = placed(what, box);
    if (place) problems.push(place);
    const inside = f.left >= left - 1 && f.right <= right + 1;
    if (!inside) {
      const need = px(f.width);
      const has = px(right - left);
      if (!allowEquationScroll)
        problems.push(`${what} needs ${need} px, its box is ${has} px wide, ${need - has} px ` +
                      'too narrow' +
                      (s ? ' (it scrolls; no equation may need to at this width)'
                         : clips(frame) ? ' (cut off)' : ' (running over)'));
      else if (!s)
        problems.push(`${what} needs ${need} px, its box is ${has} px wide and does not ` +
                      'scroll');
    }
    const visible = s ? clip(f, s.getBoundingClientRect()) : f;
    if (numberRect && overlap(visible, numberRect))
      problems.push(`${what} runs under its number (formula ${px(f.left)}-${px(f.right)} px, ` +
                    `number ${px(numberRect.left)}-${px(numberRect.right)} px)`);
    out.push(...problems);
  }
  const article = document.querySelector('article.bd-article') || document.body;
  for (const table of article.querySelectorAll('table')) {
    const t = table.getBoundingClientRect();
    if (t.width === 0 && t.height === 0) continue;
    if (table.parentElement.closest('table')) continue;   // judged with its outer table
    const head = (table.querySelector('caption, th, td') || table).textContent
      .replace(/\\s+/g, ' ').trim().slice(0, 40);
    const what = `table "${head}"`;
    const s = scroller(table.parentElement, article);
    const box = s || table;
    const place = placed(what, box);
    if (place) out.push(place.replace('its box', s ? 'its scrolling box' : 'its box'));
  }
  const page = document.documentElement;
  if (page.scrollWidth > page.clientWidth + 1) {
    // Name the culprits: the blocks holding the outermost elements that reach past the window.
    const wide = el => el.getBoundingClientRect().right > viewport + 1;
    const blocks = new Set();
    for (const el of document.body.querySelectorAll('*')) {
      if (wide(el) && !wide(el.parentElement) && el.getClientRects().length)
        blocks.add(el.closest('p, li, dt, dd, pre, table, figure, div, section') || el);
      if (blocks.size === 3) break;
    }
    const culprits = Array.from(blocks).map(el => {
      const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
        (typeof el.className === 'string' && el.className.trim()
          ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
      return `${name} "${el.textContent.replace(/\\s+/g, ' ').trim().slice(0, 50)}"`;
    });
    out.push(`the page scrolls sideways: ${page.scrollWidth} px wide in a ${page.clientWidth} ` +
             'px window' + (culprits.length ? '; widest: ' + culprits.join('; ') : ''));
  }
  return out;
}"""


def check_page(context, base: str, site: Path, page: str) -> list[Problem]:
    """Open one page in a new tab of `context` and return its problems."""
    problems: list[Problem] = []

    def add(category: str, message: str) -> None:
        problems.append(Problem(page, category, message))

    def short(url: str) -> str:
        return url[len(base):] if url.startswith(base) else url

    refresh = _REFRESH.search((site / page).read_text(encoding="utf-8", errors="replace"))
    if refresh:
        href = refresh.group(1)
        url = base + posixpath.normpath(posixpath.join(posixpath.dirname(page), href))
        reason = link_problem(site, page, href, url, base)
        return [Problem(page, "link", f"forwards nowhere: {reason}")] if reason else []

    tab = context.new_page()
    tab.set_viewport_size({"width": WIDE, "height": HEIGHT})
    tab.on("requestfailed",
           lambda r: add("request", f"request failed: {short(r.url)} ({r.failure})"))
    tab.on("response", lambda r: r.status >= 400 and
           add("request", f"HTTP {r.status}: {short(r.url)}"))
    tab.on("pageerror", lambda e: add("request", f"script error: {e}"))
    try:
        tab.goto(base + page, wait_until="load", timeout=60_000)
        tab.evaluate(_WAIT_FOR_MATH)
        tab.evaluate(_OPEN_EVERYTHING)

        facts = tab.evaluate(_MATH_FACTS)
        if facts["untypeset"]:
            first = facts["untypeset"][0]
            count = len(facts["untypeset"])
            add("math", f"{count} math element{'s' if count > 1 else ''} not typeset"
                        f"{'' if facts['mathjax'] else ' (MathJax did not start)'}, "
                        f"the first: {' '.join(first.split())[:60]}")
        for error in facts["errors"]:
            add("math", f"MathJax error: {error[:100]}")
        raw = sorted({m.group(0) for m in RAW_TEX.finditer(facts["text"])})
        if raw:
            match = RAW_TEX.search(facts["text"])
            start = max(match.start() - 30, 0)
            context_text = " ".join(facts["text"][start:match.end() + 30].split())
            add("math", f"raw TeX in the text ({'  '.join(raw[:6])}), "
                        f"e.g. ...{context_text}...")

        for src in tab.evaluate(_IMAGES):
            add("image", f"image not loaded: {src}")

        for href, url in tab.evaluate(_LINKS):
            if url.startswith(base):
                reason = link_problem(site, page, href, url, base)
                if reason:
                    add("link", reason)

        for width, allow_scroll in ((WIDE, False), (NARROW, True)):
            tab.set_viewport_size({"width": width, "height": HEIGHT})
            tab.wait_for_timeout(50)   # one frame for the new layout
            for message in tab.evaluate(_FIT, allow_scroll):
                add(f"fit{width}", message)
    finally:
        snapshot = list(problems)   # requests aborted by closing the tab are not the page's
        tab.close()
    return snapshot


def check_site(site: Path, pages: list[str] | None = None, chromium: str | None = None,
               progress=None) -> Report:
    """Open every page of `site` (or the given ones) in one headless Chromium."""
    report = Report(site=site, pages=list(pages if pages is not None else site_pages(site)))
    start = time.perf_counter()
    with serve(site) as base, browser(chromium) as instance:
        context = instance.new_context(viewport={"width": WIDE, "height": HEIGHT})
        for page in report.pages:
            found = check_page(context, base, site, page)
            report.problems.extend(found)
            if progress:
                progress(page, found)
        context.close()
    report.seconds = time.perf_counter() - start
    return report


def screenshot(site: Path, out: Path, page: str, anchor: str | None = None,
               chromium: str | None = None, height: int = 1000) -> Path:
    """A PNG of `page`, WIDE px wide, scrolled to the element `anchor` if given (by script,
    so the theme does not highlight it as a link target), once its math is typeset and its
    images loaded."""
    with serve(site) as base, browser(chromium) as instance:
        tab = instance.new_page(viewport={"width": WIDE, "height": height})
        tab.goto(base + page, wait_until="load")
        tab.evaluate(_WAIT_FOR_MATH)
        tab.evaluate(_IMAGES)
        if anchor:
            found = tab.evaluate("""(id) => { const el = document.getElementById(id);
              if (!el) return false;
              el.scrollIntoView(); window.scrollBy(0, -40); return true; }""", anchor)
            if not found:
                raise ValueError(f"no id {anchor!r} in {page}")
        tab.wait_for_timeout(300)
        out.parent.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(out))
    return out


# The README's picture: a chapter page with typeset math, a numbered equation and a figure.
SCREENSHOT = ROOT / "book" / "images" / "screenshot.png"
SCREENSHOT_PAGE = "book/b_chain_rule/ordered_derivatives.html"
SCREENSHOT_ANCHOR = "a-graph-with-several-paths"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", nargs="?", type=Path,
                        help="the built site (default: $RNNBOOK_SITE or _build/html)")
    parser.add_argument("--page", action="append",
                        help="check only this page (relative to the site); repeatable")
    parser.add_argument("--screenshot", type=Path, nargs="?", const=SCREENSHOT,
                        help=f"write a screenshot instead (default {SCREENSHOT})")
    parser.add_argument("--shot-page", default=SCREENSHOT_PAGE)
    parser.add_argument("--anchor", default=SCREENSHOT_ANCHOR,
                        help="scroll the screenshot's page to this id")
    args = parser.parse_args(argv)
    site = args.site or find_site()
    if site is None:
        parser.error("no built site: run the README's build command or pass its folder")
    if args.screenshot:
        print(screenshot(site, args.screenshot, args.shot_page, args.anchor))
        return 0
    report = check_site(site, args.page,
                        progress=lambda page, found: print(f"{len(found):4d}  {page}",
                                                           file=sys.stderr))
    print(f"{len(report.pages)} pages of {site} in {report.seconds:.1f} s, "
          f"{len(report.problems)} problems")
    if report.problems:
        print(report.format())
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
