"""The demo's servers, each in a process of its own (`conveyor commerce sandbox whatsapp`,
`conveyor commerce webhook`, ...): the fake APIs answer at their own pace however busy the
demo's own process is, as real ones would. Each starts in a session of its own (a terminal's
Ctrl-C reaches only the demo, which stops them in order), logs to a file, and is stopped with
SIGTERM (uvicorn's graceful stop), killed only if it overruns."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

STOP_GRACE = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """`ServerProcess(name, command, port=..., ...).start()` returns once the port accepts
    connections; `.url`, `.stop()`."""

    def __init__(self, name: str, command: Sequence[str], *, port: int,
                 env: Mapping[str, str], cwd: str, log: Path) -> None:
        self.name = name
        self.command = list(command)
        self.port = port
        self.env = dict(env)
        self.cwd = cwd
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self._moves = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> ServerProcess:
        return self.launch().ready(timeout)

    def launch(self) -> ServerProcess:
        """Start the process without waiting (servers launched together start faster)."""
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.command, env=self.env, cwd=self.cwd,
                                            stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        return self

    def ready(self, timeout: float = 60.0) -> ServerProcess:
        """Wait until this process accepts connections on its port; stopped and refused if it
        never does. A port picked free can be taken by another program before the server
        binds it: the server then exits, and it starts again on another free port."""
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while not (self._listening() and _holds_port(self.process.pid, self.port) is not False):
            if self.process.poll() is not None and self._listening() and self._moves < 3:
                self._moves += 1  # someone else answers on the port it could not bind
                self._move_to(free_port())
            elif self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the {self.name} did not start; see {self.log}")
            time.sleep(0.1)
        return self

    def _move_to(self, port: int) -> None:
        at = self.command.index("--port") + 1
        self.command[at], self.port = str(port), port
        self.launch()

    def _listening(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            return False
        return True

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _holds_port(pid: int, port: int) -> bool | None:
    """Whether process `pid` holds the listening socket on `port`, read off Linux's /proc
    (None where that cannot be read: the port answering is taken as the server)."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
        inodes = set()
        for fd in fds:
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as rows:
                for row in list(rows)[1:]:
                    fields = row.split()
                    listening = fields[3] == "0A"
                    if listening and int(fields[1].rsplit(":", 1)[1], 16) == port \
                            and fields[9] in inodes:
                        return True
    except OSError:
        return None
    return False
