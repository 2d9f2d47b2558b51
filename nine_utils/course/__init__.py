"""The course tooling, kept apart from the science in :mod:`nine_utils`.

* :mod:`~nine_utils.course.paths`: the repository root, and paths resolved from it;
* :mod:`~nine_utils.course.results`: the results file every notebook writes, and the summary table;
* :mod:`~nine_utils.course.runner`: executing the notebooks with papermill (``make run``, ``make refresh``);
* :mod:`~nine_utils.course.sweep`: parameter sweeps over a notebook;
* :mod:`~nine_utils.course.teaching`: student copies, navigation cells and the site.

A notebook imports it as ``from nine_utils import course``. The science package never imports
anything from here.
"""

from .paths import repo_root, resolve_from_root
from .results import load_results, save_results, summary_table

__all__ = ["repo_root", "resolve_from_root", "load_results", "save_results", "summary_table"]
