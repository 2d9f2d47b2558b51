"""Sphinx configuration of the course's book site (``make site``).

The sources are not in this folder: ``python -m nine_utils.course.site`` stages an ``index.md``
(the README's title, introduction and notebook table) and copies of ``notebooks/NN_*.ipynb`` into a
temporary folder and builds that with this configuration. The notebooks are shown with their
committed outputs and never executed. Nothing is fetched while building, and MathJax is served
from ``_static/mathjax`` (vendored), so the site also works offline.
"""

import tomllib
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
_NINE = tomllib.loads((_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["nine"]

project = "NINE course"
author = "the NINE course authors"
copyright = "the NINE course authors"  # no year: the build must not depend on the date

extensions = ["myst_nb"]

# the notebooks' committed outputs are the content: never execute them
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

html_theme = "sphinx_book_theme"
html_title = "NINE course"
html_static_path = ["_static"]
html_copy_source = False  # the notebooks live in the repository; the launch buttons open them there
html_show_sourcelink = False
html_last_updated_fmt = None
html_show_sphinx = False

# MathJax 3 (tex-chtml component and its woff fonts) vendored from the npm package, so no CDN
mathjax_path = "mathjax/tex-chtml.js"

html_theme_options = {
    "repository_url": f"https://github.com/{_NINE['repository']}",
    "repository_branch": _NINE.get("branch", "main"),
    "path_to_docs": "",  # page notebooks/NN_x is the file notebooks/NN_x.ipynb of the repository
    "use_repository_button": True,
    "use_download_button": False,
    "launch_buttons": {
        "colab_url": "https://colab.research.google.com",
        "binderhub_url": "https://mybinder.org",
        "notebook_interface": "jupyterlab",
    },
    "show_toc_level": 2,
    "home_page_in_toc": True,
}
