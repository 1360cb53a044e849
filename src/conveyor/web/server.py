"""Serving the dashboard with uvicorn: `serve` (blocking, for `conveyor dashboard`) and
`start` (a background thread, for the demo and the browser tests).

Both add the pages installed packages offer (`discovery`, the `conveyor.web_pages` entry
points) unless given `pages=` explicitly. Both refuse a non-loopback address unless a
password (or an auth callable) is configured; on loopback with no user configured, a one-time
admin password is generated and announced.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import secrets
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import uvicorn

from conveyor import errors
from conveyor.web import app as web_app
from conveyor.web import discovery, extension
from conveyor.web.config import Account, DashboardConfig
from conveyor.web.dashboard import AuthCallable

if TYPE_CHECKING:
    from conveyor.app import Conveyor


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def ready_config(host: str, config: DashboardConfig | None, auth: AuthCallable | None,
                 announce: Callable[[str], None]) -> DashboardConfig:
    """The configuration to serve with: refuse an exposed address without a password; on
    loopback without users, add an `admin` with a fresh random password and announce it."""
    config = config if config is not None else DashboardConfig.from_env()
    if auth is not None or config.users:
        return config
    if not is_loopback(host):
        raise errors.ConfigurationError(
            f"refusing to serve the dashboard on {host} without a password: set "
            "CONVEYOR_DASHBOARD_PASSWORD (or CONVEYOR_DASHBOARD_USERS=name:role:hash, hashes "
            "from `conveyor dashboard hash-password`), or listen on 127.0.0.1 only")
    password = secrets.token_urlsafe(12)
    announce(f"no dashboard user configured: log in as admin / {password} "
             "(set CONVEYOR_DASHBOARD_PASSWORD to choose one)")
    return dataclasses.replace(config, users=(Account.with_password("admin", password),))


def serve(conveyor: Conveyor, *, host: str = "127.0.0.1", port: int = 8000,
          config: DashboardConfig | None = None,
          pages: Sequence[extension.Page] | None = None, auth: AuthCallable | None = None,
          log_level: str = "info") -> None:
    """Serve the dashboard until interrupted (what `conveyor dashboard` runs). `pages`:
    the extension pages to show; None (default) finds those installed packages offer."""
    config = ready_config(host, config, auth, _to_stderr)
    asgi = web_app.create_app(conveyor, pages=_pages(conveyor, pages), auth=auth,
                              config=config)
    _to_stderr(f"dashboard on http://{_url_host(host)}:{port}/")
    uvicorn.run(asgi, host=host, port=port, log_level=log_level, proxy_headers=True)


@dataclasses.dataclass
class Running:
    """A dashboard served from a background thread; `stop()` ends it."""

    url: str
    config: DashboardConfig
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


def start(conveyor: Conveyor, *, host: str = "127.0.0.1", port: int = 0,
          config: DashboardConfig | None = None,
          pages: Sequence[extension.Page] | None = None, auth: AuthCallable | None = None,
          log_level: str = "warning", announce: Callable[[str], None] | None = None) -> Running:
    """Serve the dashboard from a daemon thread (port 0: any free port); returns once it
    listens. For scripts like the demo and for tests. `pages` as for `serve`."""
    config = ready_config(host, config, auth, announce or _to_stderr)
    asgi = web_app.create_app(conveyor, pages=_pages(conveyor, pages), auth=auth,
                              config=config)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host.strip("[]"), port))
    server = uvicorn.Server(uvicorn.Config(asgi, log_level=log_level, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name="conveyor-dashboard", daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        threading.Event().wait(0.01)
    if not server.started:
        raise errors.ConfigurationError(f"the dashboard could not start on {host}:{port}")
    url = f"http://{_url_host(host)}:{sock.getsockname()[1]}"
    return Running(url, config, server, thread)


def _pages(conveyor: Conveyor,
           pages: Sequence[extension.Page] | None) -> Sequence[extension.Page]:
    return discovery.discover_pages(conveyor) if pages is None else pages


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _to_stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
