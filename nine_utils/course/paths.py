"""Locating the repository, so notebooks run from any working directory."""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """Return the root of the course repository.

    The package is installed in editable mode (``pip install -e .``), so the root is the parent
    of the ``nine_utils`` package folder when it holds ``pyproject.toml``. The environment variable
    ``NINE_ROOT`` overrides this, for a non-editable install.

    Returns
    -------
    Path
        Absolute path of the repository root.

    Raises
    ------
    FileNotFoundError
        If neither ``NINE_ROOT`` nor the package location points at a course checkout.
    """
    env = os.environ.get("NINE_ROOT")
    if env:
        return Path(env).expanduser().resolve()
    candidate = Path(__file__).resolve().parents[2]  # <root>/nine_utils/course/paths.py
    if (candidate / "pyproject.toml").exists() and (candidate / "notebooks").is_dir():
        return candidate
    raise FileNotFoundError(
        "cannot find the course repository: install nine_utils with `pip install -e .` from the "
        "checkout, or set NINE_ROOT to the checkout's path"
    )


def resolve_from_root(path: str | os.PathLike[str]) -> Path:
    """Resolve ``path`` against the repository root unless it is already absolute."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else (repo_root() / p).resolve()
