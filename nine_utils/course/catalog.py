"""The table of contents: now in :mod:`nine_utils.course.kit`; ``strip_nav`` keeps its old import path."""
from .kit import strip_nav  # noqa: F401
