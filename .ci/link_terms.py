"""Link the first use of each glossary term in a chapter to the glossary.

    python .ci/link_terms.py [--dry-run] [--glossary book/notation.md] NOTEBOOK...

The terms are read from the ```{glossary} block of the notation page (found from the
notebook's repository root, the folder holding _toc.yml, unless --glossary is given). In
the markdown cells of each notebook, the first occurrence of each glossary entry (any of
its terms, or a variant of them listed below: plurals, spellings, abbreviations) becomes a
MyST role, {term}`hidden state` or, where the text differs from the term as defined,
{term}`Hidden states <hidden state>`, so the text reads as written. Matching is
case-insensitive and prefers the longest term at each position ("truncated BPTT" before
"BPTT"), at word boundaries.

Left alone: headings, label lines "(name)=", comments, HTML, table rows, display math
($$ ... $$ and amsmath environments), inline math, code spans, existing roles and links,
fenced code, directive titles and options, the content of directives that do not hold
prose, and solutions (between solution-start and solution-end, or in a solution directive), so that
the student edition keeps every link. A term already linked anywhere in the notebook (by a
{term} role) counts as linked: running the script twice changes nothing.

The notebook is written back with the same JSON layout as nbformat's writer (indent 1,
non-ASCII kept, keys in their existing order, a final newline); code cells and metadata are
untouched. --dry-run prints what would change and writes nothing.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

# Variants of a term that should link to it, beyond the term itself and its plural.
# Keys are glossary terms (any case); values are extra surface forms (regular expressions).
VARIANTS: dict[str, list[str]] = {
    "recurrent neural network": [r"recurrent networks?"],
    "backpropagation through time": [r"back-propagation through time"],
    "backpropagation": [r"back-propagation", r"backpropagat(?:e|es|ed|ing)"],
    "unrolling": [r"unroll(?:s|ed)?"],
    "unfolding": [r"unfold(?:s|ed)?"],
    "parameter sharing": [r"shared weights?", r"weight sharing"],
    "tied weights": [r"tied weight"],
    "saturation": [r"saturat(?:e|es|ed|ing)"],
    "pre-activation": [r"pre-?activations?"],
    "Jacobian matrix": [r"(?:step )?Jacobians?", r"Jacobian matrices"],
    "ordered derivative": [r"ordered \(total\) derivatives?"],
    "finite differences": [r"finite[- ]differences?"],
    "centred difference": [r"cent(?:red|ered|ral) differences?"],
    "gradient check": [r"gradient[- ]check(?:s|ing)?"],
    "gradient clipping": [r"clipping"],
    "vanishing gradient": [r"vanishing(?= and exploding gradients)"],
    "long-range dependency": [r"long-(?:range|term) dependenc(?:y|ies)"],
    "truncated BPTT": [r"truncated back-?propagation through time"],
    "randomized truncation": [r"randomi[sz]ed truncat(?:ion|ed BPTT)"],
    "orthogonal initialisation": [r"orthogonal initiali[sz]ation"],
    "forget-gate bias": [r"forget[- ]gate bias(?:es)?"],
    "forget gate": [r"forget-gates?(?! bias)"],
    "encoder–decoder": [r"encoder[-–]decoders?"],
    "sequence-to-sequence": [r"sequence[- ]to[- ]sequence", r"seq2seq"],
    "bidirectional RNN": [r"bidirectional (?:RNN|network|layer)s?"],
    "stacked RNN": [r"stacked (?:RNN|network|layer)s?", r"deep RNNs?"],
    "cross-entropy": [r"cross[- ]entropy"],
    "n-gram model": [r"(?:n-gram|unigram|bigram|trigram)(?: models?)?"],
    "overfitting": [r"overfit(?:s|ted)?"],
    "checkpointing": [r"checkpointed"],
    "vanilla RNN": [r"Elman (?:network|cell)s?", r"simple recurrent networks?"],
    "Elman RNN": [],
    "sigmoid": [r"logistic sigmoid"],
    "forward mode": [r"forward-mode"],
    "reverse mode": [r"reverse-mode"],
    "parallel scan": [r"parallel prefix scans?"],
    "loss": [r"loss function"],
    "time step": [r"time-steps?"],
}

# Terms of one glossary entry are alternatives (BPTT or backpropagation through time), so
# only the first of them is linked; the terms listed here are linked on their own.
SEPARATE = {
    "forward mode", "reverse mode", "finite differences", "centred difference",
    "output mode", "many-to-one", "many-to-many", "one-to-many",
}

# Directives whose body is prose (linked, except their option lines); any other fenced
# block is left alone.
PROSE_DIRECTIVES = {
    "exercise", "admonition", "note", "tip", "hint", "important", "warning", "caution",
    "attention", "seealso", "epigraph", "margin", "sidebar", "dropdown", "figure",
    "prf:theorem", "prf:lemma", "prf:definition", "prf:proof", "prf:corollary",
    "prf:remark", "prf:example", "prf:proposition", "prf:property", "prf:observation",
    "prf:algorithm", "prf:conjecture", "prf:criterion", "prf:assumption", "prf:axiom",
}


@dataclass
class Unit:
    """One linkable unit: a glossary entry, or one term of it listed in SEPARATE."""

    terms: list[str]
    patterns: list[tuple[str, str]] = field(default_factory=list)  # (regex, target term)


def read_glossary(path: Path) -> list[list[str]]:
    """The entries of the ```{glossary} block: each a list of its term lines."""
    text = path.read_text(encoding="utf-8")
    block = re.compile(r"^(`{3,}|:{3,})\{glossary\}[^\n]*\n(.*?)^\1\s*$", re.DOTALL | re.MULTILINE)
    match = block.search(text)
    if not match:
        raise ValueError(f"no {{glossary}} block in {path}")
    entries: list[list[str]] = []
    current: list[str] = []
    in_definition = False
    for line in match.group(2).splitlines():
        if not line.strip():
            continue
        if line.startswith(":") and not entries and not current:
            continue  # directive option such as :sorted:
        if line[0].isspace():
            in_definition = True
            continue
        if in_definition:
            entries.append(current)
            current, in_definition = [], False
        current.append(line.strip())
    if current:
        entries.append(current)
    return entries


def plural(term_regex: str) -> str:
    """The term's regex with an optional English plural ending."""
    if re.search(r"[^aeiou]y$", term_regex):
        return term_regex[:-1] + "(?:y|ies)"
    if re.search(r"(?:s|x|ch|sh)$", term_regex):
        return term_regex + "(?:es)?"
    return term_regex + "s?"


def term_regex(term: str) -> str:
    """A regex for the term as written: spaces match any run of spaces, dashes any dash."""
    out = []
    for ch in term:
        if ch == " ":
            out.append(r"\s+")
        elif ch in "-–":
            out.append("[-–]")
        else:
            out.append(re.escape(ch))
    return "".join(out)


def build_units(entries: list[list[str]]) -> list[Unit]:
    variants = {k.lower(): v for k, v in VARIANTS.items()}
    units: list[Unit] = []
    for entry in entries:
        shared = Unit(terms=[])
        for term in entry:
            unit = Unit(terms=[term]) if term.lower() in SEPARATE else shared
            if unit is shared:
                shared.terms.append(term)
            unit.patterns.append((plural(term_regex(term)), term))
            for extra in variants.get(term.lower(), []):
                # A space in a variant matches any run of white space, a line break too.
                unit.patterns.append((extra.replace(" ", r"\s+"), term))
            if unit is not shared:
                units.append(unit)
        if shared.terms:
            units.append(shared)
    return units


# Inline spans never touched: code spans and roles (`...`, {role}`...`), inline math,
# links and images with their text, autolinks and HTML tags, substitutions.
PROTECTED_INLINE = re.compile(
    r"(?:\{[^{}`\s]+\})?(`+).*?\1"          # role or code span
    r"|(?<!\\)\$\$.*?(?<!\\)\$\$"           # inline display math
    r"|(?<!\\)\$(?:\\.|[^$\\])+?\$"      # inline math
    r"|!?\[[^\]]*\]\([^)]*\)"               # link or image
    r"|!?\[[^\]]*\]\[[^\]]*\]"              # reference link
    r"|<[^>\n]+>"                            # autolink or HTML tag
    r"|\{\{.*?\}\}",                         # substitution
    re.DOTALL,
)

FENCE = re.compile(r"^(\s*)(`{3,}|:{3,})\s*(\{([^}\s]+)\})?(.*)$")


@dataclass
class Linker:
    units: list[Unit]
    done: set[int] = field(default_factory=set)
    log: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # One compiled pattern per surface form, each tagged with its unit and target.
        self.forms: list[tuple[re.Pattern, int, str]] = []
        for i, unit in enumerate(self.units):
            for regex, target in unit.patterns:
                self.forms.append(
                    (re.compile(rf"(?<![\w\-–])(?:{regex})(?!\w)", re.IGNORECASE), i, target)
                )
        self.term_lookup = {
            t.lower(): i for i, unit in enumerate(self.units) for t in unit.terms
        }

    def matches(self, text: str) -> list[tuple[int, int, int, str]]:
        """Non-overlapping matches (start, end, unit, target): at each position the longest
        form wins, so "truncated BPTT" is one match, not "BPTT" inside it."""
        found = [
            (m.start(), m.end(), unit, target)
            for form, unit, target in self.forms
            for m in form.finditer(text)
        ]
        found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
        chosen, end = [], 0
        for f in found:
            if f[0] >= end:
                chosen.append(f)
                end = f[1]
        return chosen

    def note_existing(self, text: str) -> None:
        """Count terms already linked with a {term} role as done."""
        for m in re.finditer(r"\{term\}`([^`]*)`", text):
            body = m.group(1)
            target = re.search(r"<([^<>]+)>\s*$", body)
            name = (target.group(1) if target else body).strip().lower()
            if name in self.term_lookup:
                self.done.add(self.term_lookup[name])

    def link_text(self, text: str, where: str) -> str:
        """Link first uses in a run of plain inline text (no protected spans inside)."""
        out, last = [], 0
        for start, end, unit, target in self.matches(text):
            if unit in self.done:
                continue
            self.done.add(unit)
            written = text[start:end]
            self.log.append(f"{where}: {written!r} -> {target}")
            before = text[last:start]
            if "\n" in written:
                # A role stays on one line. To keep the paragraph's number of lines, the
                # line break moves in front of the role, with the line's indentation and
                # any markup attached to the word (such as *). Where the term starts a
                # line, the two lines simply join.
                ws = re.search(r"[ \t]*\n[ \t]*", written).group(0).lstrip(" \t")
                written = re.sub(r"\s+", " ", written)
                attached = re.search(r"\S*\Z", before).group(0)
                head = before[: len(before) - len(attached)].rstrip(" \t")
                if head and not head.endswith("\n"):
                    before = head + ws + attached
            role = (
                f"{{term}}`{target}`" if written == target
                else f"{{term}}`{written} <{target}>`"
            )
            out.append(before)
            out.append(role)
            last = end
        out.append(text[last:])
        return "".join(out)

    def link_inline(self, text: str, where: str) -> str:
        """Link the plain parts of a paragraph, skipping protected spans."""
        out, last = [], 0
        for m in PROTECTED_INLINE.finditer(text):
            out.append(self.link_text(text[last:m.start()], where))
            out.append(m.group(0))
            last = m.end()
        out.append(self.link_text(text[last:], where))
        return "".join(out)


@dataclass
class State:
    """Block context carried across the cells of one notebook."""

    fences: list[tuple[str, bool]] = field(default_factory=list)  # (fence, prose?)
    options: bool = False        # at the top of a directive body: option lines
    yaml: bool = False           # inside a directive's --- option block
    math: str | None = None      # closing marker of a display-math block
    solution: bool = False       # between solution-start and solution-end


def link_cell(source: str, linker: Linker, state: State, where: str) -> str:
    lines = source.split("\n")
    out: list[str] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            out.extend(linker.link_inline("\n".join(paragraph), where).split("\n"))
            paragraph.clear()

    for line in lines:
        stripped = line.strip()
        # Inside display math: copy until it closes.
        if state.math is not None:
            out.append(line)
            if state.math == "$$":
                closed = stripped.startswith("$$") or stripped.endswith("$$")
            else:
                closed = stripped.startswith(state.math)
            if closed:
                state.math = None
            continue
        fence = FENCE.match(line)
        if fence:
            marker, name = fence.group(2), fence.group(4)
            closes = (
                state.fences
                and marker[0] == state.fences[-1][0][0]
                and len(marker) >= len(state.fences[-1][0])
                and not fence.group(3)
                and not fence.group(5).strip()
            )
            flush()
            out.append(line)
            if closes:
                state.fences.pop()
                state.options = state.yaml = False
                continue
            if name == "solution-start":
                state.solution = True
            elif name == "solution-end":
                state.solution = False
            prose = (
                name in PROSE_DIRECTIVES
                and (not state.fences or state.fences[-1][1])
            )
            state.fences.append((marker, prose))
            state.options = True
            continue
        inside = bool(state.fences)
        if inside and not state.fences[-1][1]:
            out.append(line)  # code, math or a directive without prose
            continue
        if inside and state.yaml:
            out.append(line)
            state.yaml = stripped != "---"
            continue
        if inside and state.options:
            if stripped.startswith(":") or stripped == "---":
                state.yaml = stripped == "---"
                out.append(line)
                continue
            state.options = False
        skip = (
            state.solution
            or not stripped
            or re.match(r"\s{0,3}#{1,6}\s", line)          # heading
            or re.match(r"\s*\(.+\)=\s*$", line)            # label
            or stripped.startswith(("%", "<", "|"))         # comment, HTML, table row
            or re.fullmatch(r"[:\-\s*_=+]+", stripped)         # thematic break
        )
        if stripped.startswith("$$"):
            flush()
            out.append(line)
            rest = stripped[2:]
            if "$$" not in rest:
                state.math = "$$"
            continue
        begin = re.match(r"\s*\\begin\{([^}]+)\}", line)
        if begin and not paragraph:
            flush()
            out.append(line)
            if f"\\end{{{begin.group(1)}}}" not in line:
                state.math = f"\\end{{{begin.group(1)}}}"
            continue
        if skip:
            flush()
            out.append(line)
            continue
        paragraph.append(line)
    flush()
    return "\n".join(out)


def link_notebook(path: Path, glossary: Path, dry_run: bool = False) -> list[str]:
    raw = path.read_text(encoding="utf-8")
    nb = json.loads(raw)
    linker = Linker(build_units(read_glossary(glossary)))
    markdown = [c for c in nb["cells"] if c.get("cell_type") == "markdown"]
    for cell in markdown:
        linker.note_existing("".join(cell["source"]))
    state = State()
    for index, cell in enumerate(nb["cells"]):
        if cell.get("cell_type") != "markdown":
            continue
        source = "".join(cell["source"])
        new = link_cell(source, linker, state, f"{path.name} cell {index}")
        if new != source:
            cell["source"] = new.splitlines(keepends=True)
    text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    if not dry_run and text != raw:
        path.write_text(text, encoding="utf-8")
    return linker.log


def find_glossary(notebook: Path) -> Path:
    for folder in notebook.resolve().parents:
        if (folder / "_toc.yml").exists():
            return folder / "book" / "notation.md"
    raise ValueError(f"no _toc.yml above {notebook}: give --glossary")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--glossary", type=Path, help="the page with the {glossary} block")
    parser.add_argument("--dry-run", action="store_true", help="report, write nothing")
    args = parser.parse_args(argv)
    for notebook in args.notebooks:
        if notebook.suffix != ".ipynb":
            parser.error(f"{notebook}: expected a .ipynb notebook")
        try:
            glossary = args.glossary or find_glossary(notebook)
            log = link_notebook(notebook, glossary, dry_run=args.dry_run)
        except (OSError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"{notebook}: {len(log)} term(s) linked" + (" (dry run)" if args.dry_run else ""))
        for line in log:
            print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
