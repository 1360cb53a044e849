"""Serving the sandbox with uvicorn: in a background thread (tests, benchmarks, the demo) or
in the foreground (`conveyor commerce sandbox whatsapp`). Binds 127.0.0.1 by default."""

from __future__ import annotations

import threading
import time

import uvicorn

from conveyor_commerce.sandbox.app import create_app
from conveyor_commerce.sandbox.state import SandboxState, default_templates


def new_state() -> SandboxState:
    state = SandboxState()
    for spec in default_templates():
        state.add_template(spec)
    return state


class SandboxServer:
    """`with SandboxServer() as sandbox:` serves on a free port; `sandbox.url`, `.state`."""

    def __init__(self, state: SandboxState | None = None, *, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.state = state or new_state()
        self.host = host
        config = uvicorn.Config(create_app(self.state), host=host, port=port,
                                log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        sockets = self.server.servers[0].sockets if self.server.servers else ()
        return int(sockets[0].getsockname()[1]) if sockets else 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> SandboxServer:
        self._thread = threading.Thread(target=self.server.run, name="wa-sandbox", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the WhatsApp sandbox did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(state: SandboxState, host: str, port: int) -> None:
    """Serve in the foreground until interrupted."""
    uvicorn.run(create_app(state), host=host, port=port, log_level="info")
