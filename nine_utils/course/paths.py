"""Locating the repository, so notebooks run from any working directory."""

from __future__ import annotations

import os
from pathlib import Path


def is_checkout(folder: Path) -> bool:
    """Whether ``folder`` holds ``pyproject.toml`` and ``notebooks/``, as the course's checkout does."""
    return (folder / "pyproject.toml").is_file() and (folder / "notebooks").is_dir()


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
        If ``NINE_ROOT`` is set to a folder that is not a course checkout (a mistyped path), or,
        without it, the package does not live in one.
    """
    env = os.environ.get("NINE_ROOT")
    if env:
        root = Path(env).expanduser().resolve()
        if not is_checkout(root):
            raise FileNotFoundError(f"NINE_ROOT={env} is not a course checkout (it needs pyproject.toml and "
                                    "notebooks/); fix or unset NINE_ROOT")
        return root
    candidate = Path(__file__).resolve().parents[2]  # <root>/nine_utils/course/paths.py
    if is_checkout(candidate):
        return candidate
    raise FileNotFoundError(
        "cannot find the course repository: install nine_utils with `pip install -e .` from the "
        "checkout, or set NINE_ROOT to the checkout's path"
    )


def resolve_from_root(path: str | os.PathLike[str]) -> Path:
    """Resolve ``path`` against the repository root unless it is already absolute."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else (repo_root() / p).resolve()
