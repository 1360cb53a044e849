"""Running the demo as the README's user does, as a subprocess: its printed addresses, its
process tree, and a logged-in HTTP client for its dashboard."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], bool], timeout: float, what: str,
             explain: Callable[[], str] = lambda: "") -> None:
    started = time.monotonic()
    while time.monotonic() < started + timeout:
        if condition():
            print(f"{what}: {time.monotonic() - started:.1f}s")
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{explain()}")


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (from /proc: parent links)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent counts as gone: it runs nothing)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class Demo:
    """`python examples/demo.py` with the given environment; output collected line by line."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "examples/demo.py"], cwd=ROOT, env={**os.environ, **env},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines)

    def address(self, label: str, timeout: float = 60) -> str:
        """The URL printed after `label` at the start of a line."""
        pattern = re.compile(rf"^{re.escape(label)}\s+(http://\S+?)/?\s")
        found: list[str] = []

        def printed() -> bool:
            found.extend(m[1] for line in list(self.lines) if (m := pattern.match(line)))
            if self.process.poll() is not None and not found:
                raise AssertionError(f"the demo exited ({self.process.returncode}):\n"
                                     f"{self.output()}")
            return bool(found)

        wait_for(printed, timeout, f"the demo to print its {label} address", self.output)
        return found[0]

    def stop(self, signum: int, timeout: float = 60) -> int:
        started = time.monotonic()
        self.process.send_signal(signum)
        code = self.process.wait(timeout)
        self.stop_reading()
        print(f"stopped by signal {signum}: {time.monotonic() - started:.1f}s")
        return code

    def stop_reading(self) -> None:
        """Once the demo exited: wait for its last lines."""
        self._reader.join(5)

    def kill(self, seen: set[int]) -> None:
        """Clean-up after a failed test: the demo and every process seen below it, whatever
        state they are in (a no-op after a clean stop)."""
        running = {self.process.pid} if self.process.poll() is None else set()
        for pid in sorted(seen | running | descendants(self.process.pid)):
            if alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.process.wait(10)


def log_in(base_url: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base_url, timeout=10)
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert found, "no CSRF field on the login page"
    response = client.post("/login", data={"username": "admin", "password": password,
                                           "csrf_token": found[1], "next": "/"})
    assert response.status_code == 303, response.text
    return client
