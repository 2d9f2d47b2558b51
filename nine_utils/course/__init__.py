"""The course tooling, kept apart from the science in :mod:`nine_utils`.

* :mod:`~nine_utils.course.paths`: the repository root, and paths resolved from it;
* :mod:`~nine_utils.course.params`: the parameter check every notebook runs after its parameters
  cell (:func:`check_parameters`), and the thread policy;
* :mod:`~nine_utils.course.results`: the results file every notebook writes, and the summary table;
* :mod:`~nine_utils.course.runner`: executing the notebooks with papermill (``make run``, ``make refresh``);
* :mod:`~nine_utils.course.sweep`: parameter sweeps over a notebook;
* :mod:`~nine_utils.course.catalog`, :mod:`~nine_utils.course.nav`, :mod:`~nine_utils.course.student`
  and :mod:`~nine_utils.course.kit`: the teaching kit (the course's table of contents, the
  navigation cells and README table, the student copies, and their command line);
* :mod:`~nine_utils.course.site`: the static site;
* :func:`progress`: a notebook's progress bar, off when the runner sets ``TQDM_DISABLE``.

A notebook imports it as ``from nine_utils import course``. The science package never imports
anything from here.

The modules with a command line (``python -m nine_utils.course.results``, ``runner``, ``sweep``,
``kit``, ``site``) are not imported here: running a module that its package already imported makes
:mod:`runpy` warn. :func:`save_results`, :func:`load_results` and :func:`summary_table` are
therefore loaded on first use.
"""

from importlib import import_module as _import_module
from typing import Any as _Any

from .._progress import progress_bar as progress
from . import params
from .params import CheckedParameters, apply_thread_policy, check_parameters
from .paths import repo_root, resolve_from_root

_LAZY = {"load_results": "results", "save_results": "results", "summary_table": "results",
         "results_path": "results"}

__all__ = ["params", "progress", "check_parameters", "apply_thread_policy", "CheckedParameters", "repo_root",
           "resolve_from_root", *_LAZY]


def __getattr__(name: str) -> _Any:
    if name in _LAZY:
        return getattr(_import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({n for n in globals() if not n.startswith("_")} | set(_LAZY))
