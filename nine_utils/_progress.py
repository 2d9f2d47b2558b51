"""Progress bars that honour ``TQDM_DISABLE`` in a notebook too.

``tqdm.auto`` picks the widget bar inside a kernel, and that bar ignores the environment variable
``TQDM_DISABLE`` (tqdm 4.70 turns a missing ``disable`` into ``False`` before its environment
defaults apply). The course runner sets ``TQDM_DISABLE=1`` for committed outputs, where a stored
widget renders on GitHub as a frozen "0%", so the variable is read here explicitly.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from tqdm.auto import tqdm

_OFF = ("", "0", "false", "no", "off")


def bars_disabled() -> bool:
    """Whether the environment asks for no progress bars (``TQDM_DISABLE`` set and not false)."""
    return os.environ.get("TQDM_DISABLE", "").strip().lower() not in _OFF


def progress_bar(iterable: Iterable[Any] | None = None, enabled: bool = True, **kwargs: Any) -> tqdm:
    """``tqdm.auto`` over ``iterable``, hidden when ``enabled`` is False or ``TQDM_DISABLE`` is set.

    Parameters
    ----------
    iterable : iterable, optional
        What to iterate over (or ``None`` with ``total=`` and manual ``update`` calls).
    enabled : bool
        ``False`` hides the bar whatever the environment says.
    **kwargs
        Passed to ``tqdm`` (``desc``, ``total``, ``leave``, ...).
    """
    if not enabled or bars_disabled():
        kwargs["disable"] = True
    return tqdm(iterable, **kwargs)
