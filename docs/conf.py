"""Sphinx configuration of the course's book site (``make site``).

The sources are not in this folder: ``python -m nine_utils.course.site`` stages an ``index.md``
(the README's title, introduction and notebook table) and copies of ``notebooks/NN_*.ipynb`` into a
temporary folder and builds that with this configuration. The notebooks are shown with their
committed outputs and never executed. Nothing is fetched while building, and MathJax is served
from ``_static/mathjax`` (vendored), so the site also works offline. ``_static/nine.css`` widens
the content column and wraps printed output; ``setup`` below links every figure to its full-size file.
"""

import tomllib
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
_NINE = tomllib.loads((_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["nine"]

project = "NINE course"
author = "the NINE course authors"
copyright = "the NINE course authors"  # no year: the build must not depend on the date

extensions = ["myst_nb", "sphinx_copybutton"]

# the notebooks' committed outputs are the content: never execute them
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
# `$$ ... $$` that continues a paragraph (no blank line before the opening `$$`, as under a list
# item) is not a display block for markdown-it; without this it renders as inline math between two
# stray dollars. With it, such a formula is a display formula wherever it is written.
myst_dmath_double_inline = True
myst_heading_anchors = 3

html_theme = "sphinx_book_theme"
html_title = "NINE course"
html_static_path = ["_static"]
html_css_files = ["nine.css"]
# _sources/ holds each page's source for the download button (.ipynb); site.py puts the committed
# notebook there, byte for byte, in place of the staged copy
html_copy_source = True
html_sourcelink_suffix = ""
html_show_sourcelink = False
html_last_updated_fmt = None
html_show_sphinx = False

# MathJax 3 (tex-chtml component and its woff fonts) vendored from the npm package, so no CDN
mathjax_path = "mathjax/tex-chtml.js"

# a copy button on code (cell inputs and the landing page's commands), not on printed output
copybutton_selector = "div:not(.output) > div.highlight > pre"

html_theme_options = {
    "repository_url": f"https://github.com/{_NINE['repository']}",
    "repository_branch": _NINE.get("branch", "main"),
    "path_to_docs": "",  # page notebooks/NN_x is the file notebooks/NN_x.ipynb of the repository
    "use_repository_button": True,
    "use_download_button": True,
    "launch_buttons": {
        "colab_url": "https://colab.research.google.com",
        "binderhub_url": "https://mybinder.org",
        "notebook_interface": "jupyterlab",
    },
    "show_toc_level": 2,
    "home_page_in_toc": True,
}


def _link_figures(app):
    """Make every image a link to its full-size file, as Sphinx does for scaled images.

    Sphinx links an image to its file only when it was given a size; the cell outputs' figures are
    shown at the column's width (often a third of their pixels), so a click opens the full image.
    """
    from docutils import nodes

    builder = app.builder
    if not hasattr(builder, "post_process_images") or not hasattr(builder, "imgpath"):
        return
    scaled_only = builder.post_process_images

    def post_process_images(doctree):
        scaled_only(doctree)
        for node in list(doctree.findall(nodes.image)):
            if isinstance(node.parent, nodes.reference) or node["uri"] not in builder.images:
                continue
            reference = nodes.reference("", "", internal=True, classes=["nine-figure-link"],
                                        refuri=f"{builder.imgpath}/{builder.images[node['uri']]}")
            node.replace_self(reference)
            reference.append(node)

    builder.post_process_images = post_process_images


def setup(app):
    app.connect("builder-inited", _link_figures)
