"""The web dashboard: `create_app(app)` for an ASGI app to mount, `serve`/`start` to run it,
and the extension point (`Page`, `Card`) with the helpers extension routes use;
`discover_pages` finds the pages installed packages offer (`conveyor.web_pages` entry points)."""

from conveyor.web.app import create_app
from conveyor.web.config import Account, DashboardConfig, Role, User
from conveyor.web.dashboard import AuthCallable, conveyor_of, redirect, render, user_of
from conveyor.web.discovery import discover_pages
from conveyor.web.extension import Card, Page
from conveyor.web.passwords import hash_password
from conveyor.web.server import Running, serve, start

__all__ = [
    "Account", "AuthCallable", "Card", "DashboardConfig", "Page", "Role", "Running", "User",
    "conveyor_of", "create_app", "discover_pages", "hash_password", "redirect", "render",
    "serve", "start", "user_of",
]
