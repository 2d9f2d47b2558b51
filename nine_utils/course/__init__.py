"""The course tooling, which the science package never imports; a notebook imports ``from nine_utils import
course``. The modules with a command line are not imported here (running a module that its package imported makes
:mod:`runpy` warn), so the results functions load on first use."""

from importlib import import_module as _import_module
from typing import Any as _Any

from .._progress import progress_bar as progress
from . import params
from .params import CheckedParameters, apply_thread_policy, check_parameters
from .paths import repo_root, resolve_from_root

_LAZY = ("load_results", "save_results", "summary_table", "results_path")  # from .results
__all__ = ["params", "progress", "check_parameters", "apply_thread_policy", "CheckedParameters", "repo_root",
           "resolve_from_root", *_LAZY]


def __getattr__(name: str) -> _Any:
    if name in _LAZY:
        return getattr(_import_module(".results", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({n for n in globals() if not n.startswith("_")} | set(_LAZY))
