"""How the kit plugs into Conveyor's dashboard, and what its routes share.

`offered(app)` is the kit's `conveyor.web_pages` entry point: the kit's pages for an
application the kit is attached to (its code ran `Commerce(app, ...)`, as the workers' does),
none otherwise - so `conveyor --app shop.jobs:app dashboard` shows them exactly when the app
uses the kit, and a dashboard of another app neither shows them nor creates the kit's tables.

The pages need no configuration of their own: they use the kit attached to the dashboard's
application (`kit_of`), hence its settings (minimum lead, queue), its vault, and the app's
database URL (the kit's tables live beside the jobs). The kit's Python API is blocking; routes
call it through `call`, which runs it in a worker thread so the event loop never waits on the
database.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from starlette.requests import Request

from conveyor.web import Page, conveyor_of

if TYPE_CHECKING:
    from conveyor import Conveyor
    from conveyor_commerce.kit import Commerce

T = TypeVar("T")


def offered(app: Conveyor) -> list[Page]:
    """The kit's pages if `app` has the kit attached, else none."""
    if "conveyor_commerce.kit" not in sys.modules:  # no kit in this process: import nothing
        return []
    from conveyor_commerce.kit import Commerce

    if Commerce.attached(app) is None:
        return []
    from conveyor_commerce import web

    return web.pages()


def kit_of(request: Request) -> Commerce:
    """The kit of the dashboard's application (attached with default settings if the pages
    were given to `create_app` for an app without one)."""
    from conveyor_commerce.kit import Commerce

    return Commerce.of(conveyor_of(request))


async def call(request: Request, work: Callable[[Commerce], T]) -> T:
    """`work(kit)` in a worker thread: the kit's API blocks on the database."""
    kit = kit_of(request)
    return await kit.in_thread(lambda: work(kit))
