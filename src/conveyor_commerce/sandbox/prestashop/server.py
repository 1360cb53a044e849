"""Serving the fake shop with uvicorn: in a background thread (tests, benchmarks, the demo)
or in the foreground (`conveyor commerce sandbox prestashop`). Binds 127.0.0.1 by default."""

from __future__ import annotations

import uvicorn

from conveyor_commerce.sandbox.prestashop.app import create_app
from conveyor_commerce.sandbox.prestashop.state import ShopState
from conveyor_commerce.sandbox.server import SandboxServer


class PrestaShopSandbox(SandboxServer):
    """`with PrestaShopSandbox() as shop:` serves on a free port; `shop.url`, `shop.state`
    (a `ShopState`)."""

    def __init__(self, state: ShopState | None = None, *, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.shop = state or ShopState()
        self.host = host
        config = uvicorn.Config(create_app(self.shop), host=host, port=port,
                                log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=1, backlog=4096)
        self.server = uvicorn.Server(config)
        self._thread = None

    def start(self, timeout: float = 10.0) -> PrestaShopSandbox:
        super().start(timeout)
        return self

    def __enter__(self) -> PrestaShopSandbox:
        return self.start()


def serve(state: ShopState, host: str, port: int) -> None:
    """Serve in the foreground until interrupted."""
    uvicorn.run(create_app(state), host=host, port=port, log_level="info")
