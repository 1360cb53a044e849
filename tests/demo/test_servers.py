"""The demo's server processes start on ports picked free; another program can take such a
port before the server binds it (tests run side by side do). The server then starts again
on another port instead of the demo talking to a stranger."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from conveyor_commerce.demo.servers import ServerProcess, free_port

LISTEN = ("import socket, sys, time; s = socket.socket(); "
          "s.bind(('127.0.0.1', int(sys.argv[2]))); s.listen(); time.sleep(60)")


def _server(port: int, tmp_path: Path) -> ServerProcess:
    return ServerProcess("test server", [sys.executable, "-c", LISTEN, "--port", str(port)],
                         port=port, env={}, cwd=str(tmp_path), log=tmp_path / "server.log")


def test_a_server_whose_port_was_taken_starts_again_on_another(tmp_path: Path) -> None:
    with socket.socket() as stranger:
        stranger.bind(("127.0.0.1", 0))
        stranger.listen()
        taken = stranger.getsockname()[1]
        server = _server(taken, tmp_path).start(timeout=30)
        try:
            assert server.port != taken
            assert server.url == f"http://127.0.0.1:{server.port}"
            assert server.process is not None and server.process.poll() is None
        finally:
            server.stop()


def test_a_server_on_a_free_port_keeps_it(tmp_path: Path) -> None:
    port = free_port()
    server = _server(port, tmp_path).start(timeout=30)
    try:
        assert server.port == port
    finally:
        server.stop()
