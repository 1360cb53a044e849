"""The kit's pages in Conveyor's dashboard, through its extension point (`conveyor.web.Page`).

`conveyor dashboard` (and `conveyor.web.serve/start`) shows them for an application the kit
is attached to, found through the `conveyor.web_pages` entry point (`plugin.offered`); or pass
them yourself: `web.create_app(app, pages=conveyor_commerce.web.pages())`.

Imports are lazy: loading the entry point must not import the kit for an app that does not
use it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conveyor.web import Page


def pages() -> list[Page]:
    """Every page of the kit, in the order of the dashboard's navigation."""
    from conveyor_commerce.web import campaigns, carts, catalog, messages

    return [
        messages.page(),
        campaigns.page(),
        carts.page(),
        catalog.page(),
    ]
