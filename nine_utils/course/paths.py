"""Locating the repository, so notebooks run from any working directory."""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """The course checkout: ``$NINE_ROOT`` if set, else the folder holding the (editable-installed) ``nine_utils``;
    a ``FileNotFoundError`` if it lacks ``pyproject.toml`` or ``notebooks/`` (a mistyped ``NINE_ROOT``)."""
    env = os.environ.get("NINE_ROOT")
    root = Path(env).expanduser().resolve() if env else Path(__file__).resolve().parents[2]
    if not ((root / "pyproject.toml").is_file() and (root / "notebooks").is_dir()):
        raise FileNotFoundError(f"NINE_ROOT={env} is not a course checkout (pyproject.toml, notebooks/): fix or unset"
                                if env else "cannot find the course: `pip install -e .` its checkout or set NINE_ROOT")
    return root


def resolve_from_root(path: str | os.PathLike[str]) -> Path:
    """Resolve ``path`` against the repository root unless it is already absolute."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else (repo_root() / path).resolve()
