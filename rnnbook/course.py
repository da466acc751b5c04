"""The course kit's commands: the student edition, the assignments, and the grader.

Run as ``python -m rnnbook.course COMMAND``:

* ``student OUT/`` writes every page listed in ``_toc.yml`` to ``OUT/``, with the solutions of
  the exercises taken out (``--solutions`` keeps them: the instructor's copy). Folders mirror
  the repository (``OUT/book/c_bptt/learning.ipynb``), and the files a chapter reads (data
  beside it, stored results it names by a relative path) are copied to the same relative
  place, so every notebook runs where it lands. Outputs are cleared.
* ``assignments`` writes the blank assignments ``book/assignments/NAME.ipynb`` from their
  reference solutions ``book/assignments/solutions/NAME.ipynb`` (``--check`` only compares).
* ``grade NOTEBOOK.ipynb`` executes a student's assignment and prints the score of each part;
  the exit code is 0 only when every part passes.

Exit codes: 0 success, 1 refused or failed (a message says why), 2 bad command line.

How a solution is marked (in the chapters, sphinx-exercise's gated form)::

    ```{exercise}
    :label: ex-name
    ...
    ```

    ```{solution-start} ex-name
    :class: dropdown
    ```
    prose, then code cells that check it
    ```{solution-end}
    ```

Everything from the ``solution-start`` fence to the end of the ``solution-end`` fence goes,
across cells; the markdown before and after them in the same cells stays. A one-piece
```` ```{solution} ```` directive goes too. In an assignment's reference solution, code
between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes ``# YOUR CODE HERE`` followed
by ``raise NotImplementedError``, cells tagged ``solution-only`` are left out, and a heading
that ends in `` (reference solution)`` loses those words.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The repository this module belongs to (an editable install); ``--root`` picks another.
REPOSITORY = Path(__file__).resolve().parents[1]

ASSIGNMENTS_FOLDER = Path("book") / "assignments"
SOLUTIONS_FOLDER = ASSIGNMENTS_FOLDER / "solutions"
BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
SOLUTION_ONLY_TAG = "solution-only"
SOLUTION_TITLE = " (reference solution)"
#: The line the grader prints after executing a notebook; the JSON report follows it.
REPORT_MARKER = "RNNBOOK-GRADE-REPORT:"

_FENCE_OPEN = re.compile(r"^ {0,3}(?P<fence>`{3,}|:{3,})(?P<info>.*)$")
_DIRECTIVE = re.compile(r"^\s*\{(?P<name>[\w-]+)\}\s*(?P<argument>.*)$")


class CourseError(Exception):
    """A refusal or a malformed input: the message is shown to the user as it is."""


# ------------------------------------------------------------------ removing the solutions


@dataclass
class _Stripper:
    """Walks the cells of one notebook (or one page) in order, removing the solutions.

    ``inside`` is the label of the gated solution being removed (``None`` outside one): a
    ``solution-start`` in one cell and its ``solution-end`` in a later cell remove the cells
    between them.
    """

    source: str
    inside: str | None = None
    labels: list[str] = field(default_factory=list)

    def markdown(self, text: str) -> str:
        """The text with every solution directive and the text inside a gated one removed."""
        lines = text.split("\n")
        kept: list[str] = []
        i = 0
        while i < len(lines):
            opening = _FENCE_OPEN.match(lines[i])
            if not opening:
                if self.inside is None:
                    kept.append(lines[i])
                i += 1
                continue
            fence = opening["fence"]
            end = i + 1
            while end < len(lines) and not _closes(lines[end], fence):
                end += 1
            block = lines[i:end + 1]
            directive = _DIRECTIVE.match(opening["info"])
            name = directive["name"] if directive else None
            if name == "solution-start":
                if self.inside is not None:
                    raise CourseError(
                        f"{self.source}: solution-start {directive['argument']!r} inside the "
                        f"solution of {self.inside!r} (a solution-end is missing)")
                self.inside = directive["argument"].strip() or "?"
                self.labels.append(self.inside)
            elif name == "solution-end":
                if self.inside is None:
                    raise CourseError(f"{self.source}: solution-end without a solution-start")
                self.inside = None
            elif name == "solution":
                self.labels.append(directive["argument"].strip() or "?")
            elif self.inside is None:
                kept.extend(block)
            i = end + 1
        return _tidy(kept)

    def finish(self) -> None:
        if self.inside is not None:
            raise CourseError(f"{self.source}: solution-start {self.inside!r} is never ended")


def _closes(line: str, fence: str) -> bool:
    """Whether ``line`` closes a block opened by ``fence`` (same character, at least as long)."""
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]}


def _tidy(lines: list[str]) -> str:
    """Join lines, with runs of blank lines (left where a solution was) cut to one."""
    out: list[str] = []
    for line in lines:
        if not line.strip() and out and not out[-1].strip():
            continue
        out.append(line)
    return "\n".join(out).strip("\n")


def strip_solutions(notebook: Any, source: str = "notebook") -> tuple[Any, list[str]]:
    """A copy of ``notebook`` (an ``nbformat`` node) without solutions, and their labels.

    Code and raw cells between a ``solution-start`` and its ``solution-end`` are dropped;
    markdown cells keep what lies outside the solutions, and are dropped when nothing is left.
    Outputs are cleared.
    """
    result = copy.deepcopy(notebook)
    stripper = _Stripper(source)
    cells = []
    for cell in result.cells:
        if cell.cell_type == "markdown":
            text = stripper.markdown(cell.source)
            if not text.strip():
                continue
            cell.source = text
        elif stripper.inside is not None:
            continue
        cells.append(cell)
    stripper.finish()
    result.cells = cells
    clear_outputs(result)
    return result, stripper.labels


def strip_page(text: str, source: str = "page") -> tuple[str, list[str]]:
    """A MyST Markdown page without its solutions, and their labels."""
    stripper = _Stripper(source)
    stripped = stripper.markdown(text)
    stripper.finish()
    return stripped + "\n", stripper.labels


def clear_outputs(notebook: Any) -> None:
    """Remove the outputs and execution counts of every code cell, in place."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None


# ------------------------------------------------------------------ the table of contents


def toc_pages(root: Path) -> list[Path]:
    """The files of every page ``_toc.yml`` lists (``root``, ``file`` and ``glob`` entries)."""
    import yaml

    toc_path = root / "_toc.yml"
    if not toc_path.is_file():
        raise CourseError(
            f"no _toc.yml in {root}: pass the book's repository with --root")
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    entries: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    entries.append(node[key])
            if isinstance(node.get("glob"), str):  # a pattern of pages, in name order
                entries.extend(str(path.relative_to(root).with_suffix("")) for path in
                               sorted(root.glob(node["glob"])) if path.suffix in {".ipynb", ".md"})
            for value in node.values():
                if isinstance(value, dict | list):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    pages = []
    for entry in entries:
        candidates = [root / f"{entry}{suffix}" for suffix in ("", ".ipynb", ".md")]
        found = next((c for c in candidates if c.is_file() and c.suffix in {".ipynb", ".md"}),
                     None)
        if found is None:
            raise CourseError(f"_toc.yml lists {entry!r}, but no {entry}.ipynb or .md exists")
        pages.append(found)
    return pages


def is_assignment_solution(path: Path, root: Path) -> bool:
    """Reference solutions of the assignments never go into the student edition."""
    return (root / SOLUTIONS_FOLDER).resolve() in path.resolve().parents


def _edition_path(path: Path, root: Path) -> Path:
    """Where a file goes inside OUT: its path in the repository, so that a chapter's
    relative paths (``../../benchmarks/results/...``) reach the same files in OUT."""
    return path.resolve().relative_to(root.resolve())


_STRING_LITERAL = re.compile(r"""(["'])((?:(?!\1)[^\\\n])+)\1""")


def referenced_files(notebook: Any, folder: Path, root: Path) -> list[Path]:
    """Files of the repository that a notebook's code names by a path relative to its folder.

    Every string literal of every code cell that names an existing file (not a hidden one,
    not a notebook) inside ``root`` counts: a stored result read with
    ``Path("../../benchmarks/results/scan.json")``, a data file beside the chapter.
    """
    root = root.resolve()
    found = set()
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for match in _STRING_LITERAL.finditer(cell.source):
            text = match.group(2)
            if "/" not in text and "." not in text:
                continue
            try:
                candidate = (folder / text).resolve()
            except (OSError, ValueError):
                continue
            if (candidate.is_file() and root in candidate.parents
                    and candidate.suffix != ".ipynb"
                    and not any(part.startswith(".") for part in
                                candidate.relative_to(root).parts)):
                found.add(candidate)
    return sorted(found)


# ------------------------------------------------------------------ writing an edition


@dataclass
class EditionPlan:
    """What an edition writes: notebooks and pages (transformed) and data files (copied)."""

    notebooks: dict[Path, Any] = field(default_factory=dict)   # destination -> notebook
    pages: dict[Path, str] = field(default_factory=dict)       # destination -> text
    copies: dict[Path, Path] = field(default_factory=dict)     # destination -> source
    removed: dict[str, list[str]] = field(default_factory=dict)  # page -> solution labels

    def destinations(self) -> list[Path]:
        return sorted([*self.notebooks, *self.pages, *self.copies])


def plan_edition(out: Path, root: Path = REPOSITORY, *, solutions: bool = False) -> EditionPlan:
    """Read every page of the toc and prepare the student (or instructor) edition in memory."""
    import nbformat

    plan = EditionPlan()
    pages = toc_pages(root)
    folders: set[Path] = set()
    for page in pages:
        if not solutions and is_assignment_solution(page, root):
            continue
        destination = out / _edition_path(page, root)
        folders.add(page.parent)
        name = str(page.relative_to(root))
        if page.suffix == ".ipynb":
            notebook = nbformat.read(page, as_version=4)
            # Files named anywhere in the chapter, solutions included: an exercise may need
            # the data its solution loads.
            for item in referenced_files(notebook, page.parent, root):
                plan.copies[out / _edition_path(item, root)] = item
            if solutions:
                clear_outputs(notebook)
                labels: list[str] = []
            else:
                notebook, labels = strip_solutions(notebook, name)
            nbformat.validate(notebook)
            plan.notebooks[destination] = notebook
        else:
            text = page.read_text(encoding="utf-8")
            if solutions:
                labels = []
            else:
                text, labels = strip_page(text, name)
            plan.pages[destination] = text
        plan.removed[name] = labels
    listed = {page.resolve() for page in pages}
    for folder in folders:
        for item in sorted(folder.iterdir()):
            # Data that a chapter reads sits beside it; other pages and notebooks are not data.
            if (item.is_file() and not item.name.startswith(".")
                    and item.suffix not in {".ipynb", ".md"} and item.resolve() not in listed):
                plan.copies[out / _edition_path(item, root)] = item
    return plan


def _forbidden_folders(root: Path) -> list[Path]:
    return sorted({(root / "book").resolve(), (REPOSITORY / "book").resolve()})


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def write_edition(
    out: Path | str, root: Path | str = REPOSITORY, *, solutions: bool = False,
    force: bool = False,
) -> EditionPlan:
    """Write the student edition (or, with ``solutions``, the instructor's) into ``out``.

    Refuses (``CourseError``, nothing written) when ``out`` is the book's own ``book/`` folder
    or lies inside it, when any file would land there (through a link), and when a file to
    write exists already, unless ``force``.
    """
    import nbformat

    root = Path(root).resolve()
    out_path = Path(out).expanduser().resolve()
    for folder in _forbidden_folders(root):
        if _inside(out_path, folder):
            raise CourseError(
                f"refusing to write into the book's own folder {folder}: the edition would "
                f"overwrite the chapters (given {out})")
    if out_path.exists() and not out_path.is_dir():
        raise CourseError(f"{out_path} exists and is not a folder")
    plan = plan_edition(out_path, root, solutions=solutions)
    destinations = plan.destinations()
    for destination in destinations:
        target = destination.resolve()
        for folder in _forbidden_folders(root):
            if _inside(target, folder):
                raise CourseError(f"refusing to write {destination}: it resolves to {target}, "
                                  f"inside the book's own folder {folder}")
        if not _inside(target, out_path):
            raise CourseError(f"refusing to write {destination}: it resolves to {target}, "
                              f"outside {out_path}")
    existing = [d for d in destinations if d.exists() or d.is_symlink()]
    if existing and not force:
        shown = ", ".join(str(d.relative_to(out_path)) for d in existing[:5])
        more = f" and {len(existing) - 5} more" if len(existing) > 5 else ""
        raise CourseError(f"{len(existing)} files exist already in {out_path} ({shown}{more}); "
                          f"pass --force to overwrite them")
    for destination, notebook in plan.notebooks.items():
        destination.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, destination)
    for destination, text in plan.pages.items():
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, encoding="utf-8")
    for destination, source in plan.copies.items():
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
    return plan


# ------------------------------------------------------------------ assignments


def blank_assignment(solution: Any, source: str = "assignment") -> Any:
    """The student's notebook made from a reference solution (an ``nbformat`` node).

    Each ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` block of a code cell becomes
    ``# YOUR CODE HERE`` and ``raise NotImplementedError`` at the marker's indentation;
    cells tagged ``solution-only`` are dropped; a markdown heading's `` (reference solution)``
    goes; the metadata says the notebook is blank.
    """
    blank = copy.deepcopy(solution)
    cells = []
    for cell in blank.cells:
        if SOLUTION_ONLY_TAG in cell.metadata.get("tags", []):
            continue
        if cell.cell_type == "code":
            cell.source = _blank_code(cell.source, source)
        elif BEGIN_SOLUTION in cell.source or END_SOLUTION in cell.source:
            raise CourseError(f"{source}: solution markers in a {cell.cell_type} cell")
        else:
            cell.source = "\n".join(
                line.removesuffix(SOLUTION_TITLE) if line.startswith("#") else line
                for line in cell.source.split("\n"))
        cells.append(cell)
    blank.cells = cells
    blank.metadata.setdefault("rnnbook", {})["role"] = "blank"
    clear_outputs(blank)
    return blank


def _blank_code(code: str, source: str) -> str:
    out: list[str] = []
    indent: str | None = None
    for line in code.split("\n"):
        stripped = line.strip()
        if stripped == BEGIN_SOLUTION:
            if indent is not None:
                raise CourseError(f"{source}: {BEGIN_SOLUTION} inside another solution block")
            indent = line[: len(line) - len(line.lstrip())]
            out += [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError"]
        elif stripped == END_SOLUTION:
            if indent is None:
                raise CourseError(f"{source}: {END_SOLUTION} without {BEGIN_SOLUTION}")
            indent = None
        elif indent is None:
            out.append(line)
    if indent is not None:
        raise CourseError(f"{source}: {BEGIN_SOLUTION} is never ended")
    return "\n".join(out)


def assignment_pairs(root: Path = REPOSITORY) -> list[tuple[Path, Path]]:
    """(reference solution, blank notebook) for every assignment."""
    solutions = sorted((root / SOLUTIONS_FOLDER).glob("*.ipynb"))
    return [(path, root / ASSIGNMENTS_FOLDER / path.name) for path in solutions]


def write_assignments(root: Path | str = REPOSITORY, *, check: bool = False) -> list[Path]:
    """Write (or with ``check``, compare) every blank assignment; returns the stale ones."""
    import nbformat

    root = Path(root).resolve()
    pairs = assignment_pairs(root)
    if not pairs:
        raise CourseError(f"no reference solutions in {root / SOLUTIONS_FOLDER}")
    stale = []
    for solution_path, blank_path in pairs:
        blank = blank_assignment(nbformat.read(solution_path, as_version=4),
                                 str(solution_path.relative_to(root)))
        nbformat.validate(blank)
        text = nbformat.writes(blank) + "\n"
        if not blank_path.exists() or blank_path.read_text(encoding="utf-8") != text:
            stale.append(blank_path)
            if not check:
                blank_path.write_text(text, encoding="utf-8")
    return stale


# ------------------------------------------------------------------ executing and grading


def _current_environment_kernel() -> Any:
    """A kernel manager that starts this Python, whatever kernelspecs the user has."""
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    class _ThisPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            return KernelSpec(
                argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                display_name="Python 3", language="python", resource_dir="")

    return AsyncKernelManager(kernel_name="python3", kernel_spec_manager=_ThisPython())


def execute_notebook(notebook: Any, folder: Path | str, *, timeout: int = 120,
                     allow_errors: bool = False) -> Any:
    """Run ``notebook`` top to bottom in ``folder`` with this Python; returns it executed.

    A failing cell raises ``nbclient.exceptions.CellExecutionError`` unless ``allow_errors``.
    The kernel gets one BLAS thread (unless the environment says otherwise): the book's
    small products run fastest so, and two kernels may share the machine.
    """
    import subprocess

    from nbclient import NotebookClient

    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")
    client = NotebookClient(
        notebook, km=_current_environment_kernel(), timeout=timeout,
        allow_errors=allow_errors, resources={"metadata": {"path": str(folder)}},
    )
    # The kernel process's own log (a notice that it talks over TCP) is not the notebook's
    # output, which comes back through the messages; keep it off the user's terminal.
    client.execute(stderr=subprocess.DEVNULL)
    return notebook


def assignment_name(notebook: Any, path: Path) -> str:
    """The assignment a notebook answers: its metadata, else its file name."""
    return notebook.metadata.get("rnnbook", {}).get("assignment") or path.stem


def grade_notebook(path: Path | str, *, timeout: int = 120) -> dict[str, Any]:
    """Execute a student's assignment notebook and grade the functions it defines.

    Cells run in order and a failing cell does not stop the run (its functions may still be
    defined); then one more cell calls :func:`rnnbook.grading.grade` on the kernel's
    namespace and prints the report as JSON. Returns that report as a dict, with the
    errors of the student's cells under ``"cell_errors"``.
    """
    import nbformat

    from rnnbook.grading import ASSIGNMENTS

    path = Path(path)
    if not path.is_file():
        raise CourseError(f"no such notebook: {path}")
    notebook = nbformat.read(path, as_version=4)
    name = assignment_name(notebook, path)
    if name not in ASSIGNMENTS:
        raise CourseError(f"{path}: not an assignment (known: {', '.join(sorted(ASSIGNMENTS))}"
                          f"; the notebook's metadata rnnbook.assignment names it)")
    clear_outputs(notebook)
    notebook.cells.append(nbformat.v4.new_code_cell(
        "import json as _json\nimport rnnbook.grading as _grading\n"
        f"print({REPORT_MARKER!r} + _json.dumps("
        f"_grading.grade({name!r}, globals()).to_dict()))"))
    try:
        execute_notebook(notebook, path.parent.resolve(), timeout=timeout, allow_errors=True)
    except Exception as error:  # a cell that never ends, a kernel that dies
        raise CourseError(f"{path}: the notebook did not run to its end "
                          f"({type(error).__name__}: {str(error).strip()[-300:]})") from error
    cell_errors = []
    for index, cell in enumerate(notebook.cells[:-1]):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                cell_errors.append(f"cell {index}: {output['ename']}: {output['evalue']}")
    text = "".join(o.get("text", "") for o in notebook.cells[-1].outputs
                   if o.get("output_type") == "stream")
    found = [line for line in text.splitlines() if line.startswith(REPORT_MARKER)]
    if not found:
        errors = [f"{o['ename']}: {o['evalue']}" for o in notebook.cells[-1].outputs
                  if o.get("output_type") == "error"]
        raise CourseError(f"{path}: the grader did not run ({'; '.join(errors) or text})")
    report = json.loads(found[-1][len(REPORT_MARKER):])
    report["cell_errors"] = cell_errors
    return report


# ------------------------------------------------------------------ the command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m rnnbook.course",
        description="The rnnbook course kit: student edition, assignments, grading.")
    commands = parser.add_subparsers(dest="command", required=True)
    student = commands.add_parser(
        "student", help="write every chapter without its solutions into OUT")
    student.add_argument("out", type=Path, help="the folder to write (created if missing)")
    student.add_argument("--force", action="store_true", help="overwrite existing files")
    student.add_argument("--solutions", action="store_true",
                         help="keep the solutions (the instructor's edition)")
    student.add_argument("--root", type=Path, default=REPOSITORY,
                         help="the book's repository (default: %(default)s)")
    assignments = commands.add_parser(
        "assignments", help="write the blank assignments from their reference solutions")
    assignments.add_argument("--check", action="store_true",
                             help="only check that the blank notebooks are up to date")
    assignments.add_argument("--root", type=Path, default=REPOSITORY,
                             help="the book's repository (default: %(default)s)")
    grade = commands.add_parser("grade", help="execute an assignment notebook and grade it")
    grade.add_argument("notebook", type=Path)
    grade.add_argument("--timeout", type=int, default=120, help="seconds per cell")
    grade.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "student":
            plan = write_edition(args.out, args.root, solutions=args.solutions,
                                 force=args.force)
            removed = sum(len(labels) for labels in plan.removed.values())
            kind = "instructor's" if args.solutions else "student"
            print(f"wrote the {kind} edition to {Path(args.out).resolve()}: "
                  f"{len(plan.notebooks)} notebooks, {len(plan.pages)} pages, "
                  f"{len(plan.copies)} data files; {removed} solutions removed")
            return 0
        if args.command == "assignments":
            stale = write_assignments(args.root, check=args.check)
            if args.check:
                for path in stale:
                    print(f"out of date: {path} (run python -m rnnbook.course assignments)")
                return 1 if stale else 0
            print(f"wrote {len(stale)} blank assignments" if stale
                  else "every blank assignment is up to date")
            return 0
        from rnnbook.grading import format_report

        report = grade_notebook(args.notebook, timeout=args.timeout)
        if args.json:
            print(json.dumps(report, indent=1))
        else:
            for error in report["cell_errors"]:
                print(f"note: {error}")
            print(format_report(report))
        return 0 if report["passed"] else 1
    except CourseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
