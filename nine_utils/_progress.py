"""Progress bars that respect ``TQDM_DISABLE`` (set by the notebook runner for committed outputs)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tqdm.auto import tqdm


def progress_bar(iterable: Iterable[Any], enabled: bool = True, **kwargs: Any) -> tqdm:
    """``tqdm.auto`` over ``iterable``; ``enabled=False`` hides it.

    When enabled, ``disable`` is left to tqdm's defaults, so the environment variable
    ``TQDM_DISABLE=1`` still switches bars off (passing ``disable=False`` would override it).
    """
    if not enabled:
        kwargs["disable"] = True
    return tqdm(iterable, **kwargs)
