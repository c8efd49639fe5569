"""Grading the course with nbgrader: a course directory made from the solution notebooks.

The solution notebooks already carry nbgrader's cell metadata (``python -m tools.authoring
sync`` writes it; see that module for the cell roles), so nothing in a notebook needs editing.
This module only lays out what nbgrader expects::

    python -m tools.grading DIR [NAME ...] [--by-section]

writes ``DIR/nbgrader_config.py`` (unless one is there) and ``DIR/source/ASSIGNMENT/NAME.ipynb``,
one assignment per notebook (``00_welcome``, ``1.1_imagenet_landscape``, …), one per section
with ``--by-section`` (``section0`` … ``section4``), or all named notebooks in one with
``--assignment NAME``. Then, in ``DIR``::

    nbgrader generate_assignment 00_welcome      # release/00_welcome/: the student notebook
    nbgrader autograde 00_welcome                # grades submitted/STUDENT/00_welcome/*.ipynb
    nbgrader formgrader                          # or the Formgrader tab of JupyterLab

Needs the ``instructor`` extra (``pip install -e ".[instructor]"``); the student's install never
includes nbgrader. Runs from the repository root of a checkout (``tools`` is not installed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import authoring as A

__all__ = ["NBGRADER_CONFIG", "assignment_of", "make_course", "main"]

NBGRADER_CONFIG = f'''"""nbgrader configuration for the Deep Learning for Graphics course (written by tools.grading)."""

import os

c = get_config()  # noqa: F821 (nbgrader provides it)

# The student notebooks of the course use the same stubs as nbgrader, except for written answers.
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
c.ClearSolutions.text_stub = {A.TEXT_STUB!r}

# Grading re-executes each notebook; its graded cells are checks of small functions that need no
# training, so the fast smoke profile is the default here (set COURSEKIT_PROFILE=cpu to rerun the
# experiments in full). Kernels started by nbgrader inherit this environment.
os.environ.setdefault("COURSEKIT_PROFILE", "smoke")
# a cell may train for minutes in the cpu or gpu profile (nbgrader's default is 30 s)
c.Execute.timeout = 900
'''


def assignment_of(name: str, by_section: bool = False) -> str:
    """The nbgrader assignment a notebook goes into: its own, or its section's."""
    stem = Path(name).stem
    if not by_section:
        return stem
    return f"section{stem.split('_')[0].split('.')[0].lstrip('0') or '0'}"


def make_course(dest: str | Path, names: list[str] | None = None, by_section: bool = False,
                assignment: str | None = None) -> list[Path]:
    """Lay out an nbgrader course directory in ``dest``; return the source notebooks written.

    Each source notebook is the solution notebook with its Colab badge pointing at the student
    version, so ``nbgrader generate_assignment`` releases exactly ``notebooks/NAME.ipynb`` (plus
    nbgrader's own metadata)."""
    dest = Path(dest)
    paths = A.solution_paths()
    if names:
        keys = {p: {p.stem, p.name, p.stem.split("_")[0]} for p in paths}  # 1.1_imagenet_landscape, or 1.1
        unknown = [n for n in names if not any(n in k for k in keys.values())]
        if unknown:
            raise ValueError(f"no solution notebook named {unknown}; choose from {[p.stem for p in paths]}")
        paths = [p for p in paths if keys[p] & set(names)]
    dest.mkdir(parents=True, exist_ok=True)
    config = dest / "nbgrader_config.py"
    if not config.exists():
        config.write_text(NBGRADER_CONFIG, encoding="utf-8")
    cfg = A.course_config()
    written = []
    for path in paths:
        nb = A.with_badge(A.normalise_solution(A.read(path), path.name, cfg), f"notebooks/{path.name}", cfg)
        out = dest / "source" / (assignment or assignment_of(path.name, by_section)) / path.name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(A.dumps(nb), encoding="utf-8")
        written.append(out)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.grading", description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", help="the nbgrader course directory to create or update")
    parser.add_argument("names", nargs="*", help="notebooks to include (default: all), e.g. 00_welcome 1.1")
    parser.add_argument("--by-section", action="store_true", help="one assignment per section, not per notebook")
    parser.add_argument("--assignment", help="put all the named notebooks into this one assignment")
    args = parser.parse_args(argv)
    written = make_course(args.dest, args.names, args.by_section, args.assignment)
    for path in written:
        print(f"wrote {path}")
    print(f"next: cd {args.dest} && nbgrader generate_assignment {written[0].parent.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
