"""The teaching kit's command line, and the check that everything generated is current.

``python -m nine_utils.course.kit nav``      writes, in every notebook, the navigation block at the
                                      top of the title cell and the Colab set-up cell after
                                      it, and the notebook table of ``README.md``;
``python -m nine_utils.course.kit student``  writes ``notebooks/student/NN_topic.ipynb``: solutions
                                      stubbed out or removed, outputs stripped;
``python -m nine_utils.course.kit check``    exits non-zero when any generated part is out of date.

The static site is :mod:`nine_utils.course.site`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .catalog import course, dumps, load_config, read_notebook
from .nav import apply_nav, readme_table, update_readme, write_nav
from .paths import repo_root
from .student import orphans, solution_problems, student_notebook, student_path, write_students


def check(root: str | Path | None = None) -> list[str]:
    """Everything generated that is out of date, and every breach of the solution convention.

    Returns
    -------
    list of str
        One message per problem, each naming the command that fixes it; empty when all is current.
    """
    root = Path(root) if root is not None else repo_root()
    config, entries = load_config(root), course(root)
    problems = []
    for i, e in enumerate(entries):
        nb = read_notebook(e.path)
        rel = e.path.relative_to(root)
        if dumps(apply_nav(nb, entries, i, config)) != dumps(nb):
            problems.append(f"{rel}: navigation block or Colab cell out of date (run `make nav`)")
        problems += solution_problems(nb, str(rel))
        student = student_path(e.path)
        try:
            expected = dumps(student_notebook(nb, entries, i, config))
        except ValueError as err:
            problems.append(str(err))
            continue
        if not student.exists():
            problems.append(f"{student.relative_to(root)}: missing (run `make student`)")
        elif student.read_text(encoding="utf-8") != expected:
            problems.append(f"{student.relative_to(root)}: out of date (run `make student`)")
    for orphan in orphans(root, entries):
        problems.append(f"{orphan.relative_to(root)}: no such course notebook (run `make student`)")
    readme = root / "README.md"
    try:
        current = update_readme(readme.read_text(encoding="utf-8"), readme_table(entries, config))
    except ValueError as err:
        problems.append(str(err))
    else:
        if current != readme.read_text(encoding="utf-8"):
            problems.append("README.md: notebook table out of date (run `make nav`)")
    return problems


# --------------------------------------------------------------------------------------------
# command line


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: ``python -m nine_utils.course.kit {nav,student,check}``."""
    parser = argparse.ArgumentParser(prog="python -m nine_utils.course.kit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_nav = sub.add_parser("nav", help="navigation blocks, Colab cells and the README table")
    p_nav.add_argument("--only", nargs="*", default=None, help="notebook stems to rewrite (README always)")
    p_student = sub.add_parser("student", help="write notebooks/student/")
    p_student.add_argument("--only", nargs="*", default=None, help="notebook stems to write")
    sub.add_parser("check", help="exit 1 if anything generated is out of date")
    args = parser.parse_args(argv)

    root = repo_root()
    try:
        if args.command == "nav":
            changed = write_nav(root, args.only)
        elif args.command == "student":
            changed = write_students(root, args.only)
        else:
            problems = check(root)
            for p in problems:
                print(p)
            if not problems:
                print("teaching kit: everything is current")
            return 1 if problems else 0
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for p in changed:
        print(f"wrote {p.relative_to(root) if p.is_relative_to(root) else p}")
    if not changed:
        print(f"{args.command}: nothing to change")
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised by the Makefile
    sys.exit(main())
