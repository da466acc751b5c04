"""Site settings that ``_config.yml`` alone cannot express (a local Sphinx extension).

* ``rnnbook_repository_url`` (``sphinx: config:`` in ``_config.yml``) is the one setting
  for the buttons that leave the site. Empty, the default: no repository, issue, Binder or
  Colab button, so no page links to a repository the build cannot show exists. The URL of
  the book's public repository (``https://github.com/OWNER/REPO``): the repository and issue
  buttons point at it, and every chapter gets Binder and Colab buttons for its notebook on
  the branch ``rnnbook_repository_branch`` (README, "Publishing the book").
* ``proof-index``: a directive that lists every definition, lemma and theorem of the book,
  in book order, by number and title, each linked to where it is stated.
* Each page lists each script once: Sphinx 7.4 repeats an inline script that an extension
  adds after the builder started (sphinx-thebe's settings), and the copy is a script error
  on every page ("Identifier 'THEBE_JS_URL' has already been declared").
* ``rnnbook_author_year`` (``bibtex_default_style``): the reference list labelled by author
  and year ("Pascanu et al., 2013"; "Karpathy, 2015a" and "2015b" where two would be the
  same), sorted by author and year; ``rnnbook_labels`` (``bibtex_reference_style``): the
  text cites by those same labels, several separated by semicolons
  ("[Rumelhart et al., 1986; Werbos, 1990]").
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from docutils import nodes
from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.environment import BuildEnvironment
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.docutils import SphinxDirective
from sphinxcontrib.bibtex.plugin import register_plugin as register_bibtex_plugin
from sphinxcontrib.bibtex.style.referencing import BracketStyle
from sphinxcontrib.bibtex.style.referencing.label import LabelReferenceStyle

BINDERHUB_URL = "https://mybinder.org"
COLAB_URL = "https://colab.research.google.com"


# -- buttons -------------------------------------------------------------------------------

def set_repository_buttons(app: Sphinx, config: Config) -> None:
    """Turn the repository, issue and launch buttons on or off from one setting."""
    url = config.rnnbook_repository_url.strip().rstrip("/")
    published = bool(url)
    options = config.html_theme_options
    options["repository_url"] = url
    options["repository_branch"] = config.rnnbook_repository_branch
    options["path_to_docs"] = ""
    options["use_repository_button"] = published
    options["use_issues_button"] = published
    options["launch_buttons"] = {
        "notebook_interface": "jupyterlab",
        "binderhub_url": BINDERHUB_URL if published else "",
        "colab_url": COLAB_URL if published else "",
    }


# -- scripts -----------------------------------------------------------------------------

def drop_repeated_scripts(app: Sphinx, pagename: str, templatename: str,
                          context: dict[str, Any], doctree: nodes.document | None) -> None:
    """Keep the first of scripts that differ only in a file name of None against ''."""
    seen, kept = set(), []
    for script in context.get("script_files") or []:
        attributes = getattr(script, "attributes", {})
        key = (getattr(script, "filename", script) or "", getattr(script, "priority", 0),
               tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"][:] = kept


# -- the proof index -----------------------------------------------------------------------

class proof_index(nodes.General, nodes.Element):
    """Where the list of numbered statements goes; replaced before references resolve."""


class ProofIndexDirective(SphinxDirective):
    """``proof-index``: every definition, lemma and theorem of the book, in book order."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        self.env.rnnbook_proof_index_docs = (
            getattr(self.env, "rnnbook_proof_index_docs", set()) | {self.env.docname}
        )
        return [proof_index()]


def collect_statements(app: Sphinx, doctree: nodes.document) -> None:
    """Remember each labelled statement of sphinx-proof in the page: label, type, title."""
    env = app.env
    found = []
    for node in doctree.findall(nodes.Element):
        if not (node.get("realtype") and node.get("countertype") and node.get("label")):
            continue
        title = next(iter(node.findall(nodes.title)), None)
        children = [child.deepcopy() for child in title.children] if title else []
        found.append((node["label"], node["countertype"], node["realtype"], children))
    statements = getattr(env, "rnnbook_statements", {})
    statements[env.docname] = found
    env.rnnbook_statements = statements


def purge_statements(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    getattr(env, "rnnbook_statements", {}).pop(docname, None)
    getattr(env, "rnnbook_proof_index_docs", set()).discard(docname)


def merge_statements(app: Sphinx, env: BuildEnvironment, docnames: set[str],
                     other: BuildEnvironment) -> None:
    env.rnnbook_statements = {**getattr(env, "rnnbook_statements", {}),
                              **getattr(other, "rnnbook_statements", {})}
    env.rnnbook_proof_index_docs = (getattr(env, "rnnbook_proof_index_docs", set())
                                    | getattr(other, "rnnbook_proof_index_docs", set()))


def reread_proof_index(app: Sphinx, env: BuildEnvironment, added: set[str],
                       changed: set[str], removed: set[str]) -> list[str]:
    """The index page is stale whenever any page changed: read it again."""
    if not (added or changed or removed):
        return []
    return sorted(getattr(env, "rnnbook_proof_index_docs", set()) - removed)


class ProofIndexTransform(SphinxPostTransform):
    """Fill each ``proof-index`` with the statements collected from every page.

    It runs before Sphinx resolves references (priority 10), so the ``prf:ref`` and ``doc``
    references it creates resolve as if written by hand: "Theorem 4.1", the chapter's title.
    """

    default_priority = 5

    def run(self, **kwargs: Any) -> None:
        for placeholder in list(self.document.findall(proof_index)):
            placeholder.replace_self(self.listing())

    def number(self, docname: str, countertype: str, label: str) -> tuple[int, ...]:
        numbers = self.env.toc_fignumbers.get(docname, {}).get(countertype, {})
        return tuple(numbers.get(label, (10**6,)))

    def listing(self) -> nodes.Element:
        # Book order: by chapter (the first part of the number), then as they appear in it.
        entries = [
            (self.number(docname, countertype, label)[:1], docname, position, label, children)
            for docname, found in getattr(self.env, "rnnbook_statements", {}).items()
            for position, (label, countertype, _realtype, children) in enumerate(found)
        ]
        if not entries:
            return nodes.paragraph(text="The book states no definition, lemma or theorem yet.")
        items = nodes.bullet_list()
        for *_, docname, _position, label, children in sorted(entries, key=lambda e: e[:3]):
            ref = addnodes.pending_xref(
                "", nodes.inline(label, label), refdomain="prf", reftype="ref",
                reftarget=label, refexplicit=False, refdoc=self.env.docname,
                refwarn=True,
            )
            chapter = addnodes.pending_xref(
                "", nodes.inline(docname, docname), refdomain="std", reftype="doc",
                reftarget="/" + docname, refexplicit=False, refdoc=self.env.docname,
                refwarn=True,
            )
            paragraph = nodes.paragraph("", "", nodes.strong("", "", ref),
                                        *[child.deepcopy() for child in children],
                                        nodes.Text(", in "), chapter)
            items += nodes.list_item("", paragraph)
        return items


# -- the bibliography's labels -------------------------------------------------------------

def _surnames(person: Any) -> str:
    return Text.from_latex(" ".join(person.prelast_names + person.last_names)).render_as(
        "text")


def _author_year(entry: Any) -> str:
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_surnames(p) for p in people]
    who = f"{names[0]} et al." if len(names) >= 3 else " and ".join(names) or entry.key
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabels(BaseLabelStyle):
    """Labels "Elman, 1990", "Williams and Zipser, 1989", "Pascanu et al., 2013" (three or
    more authors); a, b, ... after the year where two entries would get the same label."""

    def format_labels(self, sorted_entries):
        labels = [_author_year(entry) for entry in sorted_entries]
        repeated, seen = Counter(labels), Counter()
        for label in labels:
            seen[label] += 1
            yield label + (chr(ord("a") + seen[label] - 1) if repeated[label] > 1 else "")


class AuthorYearStyle(UnsrtStyle):
    """pybtex's ``unsrt`` entries, labelled by author and year, sorted by author and year."""

    default_label_style = AuthorYearLabels
    default_sorting_style = "author_year_title"


@dataclass
class LabelReferences(LabelReferenceStyle):
    """In-text citations by the list's labels, semicolons between several: the labels
    themselves contain a comma."""

    bracket_parenthetical: BracketStyle = field(
        default_factory=lambda: BracketStyle(sep="; "))


# -- setup ---------------------------------------------------------------------------------

def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("rnnbook_repository_url", "", "html", types=[str])
    app.add_config_value("rnnbook_repository_branch", "main", "html", types=[str])
    app.connect("config-inited", set_repository_buttons)
    app.connect("html-page-context", drop_repeated_scripts, priority=900)  # after the others

    app.add_node(proof_index)
    app.add_directive("proof-index", ProofIndexDirective)
    app.add_post_transform(ProofIndexTransform)
    app.connect("doctree-read", collect_statements)
    app.connect("env-purge-doc", purge_statements)
    app.connect("env-merge-info", merge_statements)
    app.connect("env-get-outdated", reread_proof_index)

    register_plugin("pybtex.style.formatting", "rnnbook_author_year", AuthorYearStyle,
                    force=True)
    register_bibtex_plugin("sphinxcontrib.bibtex.style.referencing", "rnnbook_labels",
                           LabelReferences, force=True)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
