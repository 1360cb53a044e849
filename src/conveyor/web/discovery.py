"""Pages offered by installed packages, found through the `conveyor.web_pages` entry points.

`conveyor dashboard`, `web.serve` and `web.start` (when no `pages=` is given) ask every
installed package that declares an entry point in this group which pages it offers for the
application being served; `create_app(app, pages=[...])` never looks: there the caller says.

A package declares, in its pyproject.toml:

    [project.entry-points."conveyor.web_pages"]
    shop = "shop.dashboard:pages_for"

and `pages_for(app)` returns a sequence of `web.Page` for that `Conveyor` application - an
empty one when the package is not configured for it (so an app that does not use the package
gets no pages that would fail or create tables). The entry point is loaded only when a
dashboard starts, never when `conveyor` starts. A package that fails to load or answers with
something else than pages is skipped with a warning: one broken package does not keep the
dashboard from starting.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from conveyor.web.extension import Page

if TYPE_CHECKING:
    from conveyor.app import Conveyor

GROUP = "conveyor.web_pages"
log = logging.getLogger("conveyor.web")


def discover_pages(conveyor: Conveyor) -> list[Page]:
    """The pages every installed package offers for `conveyor`, ordered by entry-point name."""
    found: list[Page] = []
    for entry in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        try:
            offered = list(entry.load()(conveyor))
        except Exception as exc:  # a broken package must not take the dashboard down
            log.warning("dashboard pages %r not loaded: %s", entry.name, exc)
            continue
        strangers = [item for item in offered if not isinstance(item, Page)]
        if strangers:
            log.warning("dashboard pages %r not loaded: %s returned %r, not web.Page values",
                        entry.name, entry.value, strangers[0])
            continue
        found.extend(offered)
    return found
