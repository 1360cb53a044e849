"""The extension point: how another package adds pages to the dashboard.

A `Page` is a value: a URL segment, a nav label, Starlette routes, a template directory and
optional overview cards. `create_app(app, pages=[...])` mounts its routes under
`/<slug>/`, behind the same login, CSRF check, read-only rule and security headers as the
built-in pages, and its templates extend the same layout:

    from starlette.routing import Route
    from conveyor import web

    async def messages(request):
        app = web.conveyor_of(request)
        return web.render(request, "whatsapp/messages.html", {"rows": await load(app)})

    async def stats_card(request):
        return {"sent_today": 42}

    whatsapp = web.Page(
        slug="whatsapp", label="WhatsApp", routes=[Route("/", messages)],
        templates=Path(__file__).parent / "templates",      # found as "whatsapp/<file>"
        cards=[web.Card("WhatsApp", "whatsapp/card.html", stats_card)])
    dashboard = web.create_app(app, pages=[whatsapp])

A template starts with `{% extends "base.html" %}` and fills `{% block content %}`; a card's
template receives what its `context` function returned, as `card`. POST forms include
`{{ csrf_field() }}`; every POST of a read-only user is refused before it reaches the route.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute

from conveyor import errors

CardContext = Callable[[Request], Awaitable[Mapping[str, Any]]]
_SLUG = re.compile(r"^[a-z][a-z0-9-]{0,39}$")


@dataclasses.dataclass(frozen=True, slots=True)
class Card:
    """A box on the overview page: `template` rendered with `card=await context(request)`."""

    title: str
    template: str
    context: CardContext


@dataclasses.dataclass(frozen=True, slots=True)
class Page:
    """A package's pages: routes mounted under `/<slug>/`, an entry `label` in the navigation
    (unless `nav` is False), templates found as `<slug>/<file>`, and overview cards."""

    slug: str
    label: str
    routes: Sequence[BaseRoute]
    templates: Path | str | None = None
    cards: Sequence[Card] = ()
    nav: bool = True

    def __post_init__(self) -> None:
        if not _SLUG.match(self.slug):
            raise errors.ConfigurationError(
                f"dashboard page slug {self.slug!r} is invalid: lower-case letters, digits "
                "and dashes, starting with a letter")
        if self.templates is not None and not Path(self.templates).is_dir():
            raise errors.ConfigurationError(
                f"dashboard page {self.slug!r}: template directory {self.templates} does not "
                "exist")


@dataclasses.dataclass(frozen=True, slots=True)
class NavEntry:
    label: str
    path: str


def check_slugs(pages: Sequence[Page], reserved: set[str]) -> None:
    """Refuse two pages with one slug, or a slug a built-in page already uses."""
    seen: set[str] = set()
    for page in pages:
        if page.slug in reserved or page.slug in seen:
            raise errors.ConfigurationError(
                f"dashboard page slug {page.slug!r} is already taken; reserved: "
                f"{sorted(reserved)}")
        seen.add(page.slug)
