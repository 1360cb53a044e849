"""An ASGI app served by uvicorn from a daemon thread on 127.0.0.1 (the demo's webhook).

The sandboxes bring their own such server (`SandboxServer`); this one serves anything else.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn


class ThreadedServer:
    """`ThreadedServer(asgi, name).start()` listens on a free port; `.url`, `.stop()`."""

    def __init__(self, asgi: Any, name: str, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.name = name
        self.host = host
        config = uvicorn.Config(asgi, host=host, port=port, log_level="warning",
                                access_log=False, lifespan="off", timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        sockets = self.server.servers[0].sockets if self.server.servers else ()
        port = int(sockets[0].getsockname()[1]) if sockets else 0
        return f"http://{self.host}:{port}"

    def start(self, timeout: float = 10.0) -> ThreadedServer:
        self._thread = threading.Thread(target=self.server.run, name=self.name, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the {self.name} server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
