"""`run(spec)`: start the demo's parts, print where they are, wait for SIGINT or SIGTERM, and
stop everything in reverse order (exit code 0 after a clean stop).

Order: migrate, dashboard, sandboxes and the webhook, sample data, workers. Each part that
started registers its stop on an `ExitStack`, so whatever fails half-way, what did start is
stopped; the worker processes are always stopped first and waited for.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from conveyor import Conveyor, web
from conveyor_commerce.demo import whatsapp
from conveyor_commerce.demo.progress import ProgressLine
from conveyor_commerce.demo.servers import ThreadedServer
from conveyor_commerce.demo.workers import Workers
from conveyor_commerce.kit import Commerce
from conveyor_commerce.sandbox import SandboxServer


@dataclasses.dataclass(frozen=True, slots=True)
class DemoSpec:
    """What to run: the application (with the kit attached), where its workers import it
    from, and the example's own sample jobs."""

    app: Conveyor
    kit: Commerce
    app_ref: str
    """`module:attribute` the worker processes load, importable from `root`."""
    root: Path
    seed_jobs: Callable[[], str]
    """Enqueues the example's own jobs; returns one line saying what it enqueued."""
    port: int = 8000
    password: str = "demo"
    processes: int = 2


def run(spec: DemoSpec) -> int:
    stop = StopRequests()
    with contextlib.ExitStack() as stack:
        stack.callback(spec.app.close)
        stack.callback(spec.kit.close)
        spec.kit.migrate()
        try:  # first: a port in use stops the demo before it adds anything
            dashboard = _dashboard(spec)
        except OSError as exc:
            print(f"the dashboard cannot listen on 127.0.0.1:{spec.port} ({exc.strerror}); "
                  "set CONVEYOR_DEMO_PORT to another port", file=sys.stderr)
            return 2
        stack.callback(dashboard.stop)
        lines = _start_kit_services(spec.kit, stack)
        lines.append(spec.seed_jobs())
        workers = Workers(spec.app_ref, processes=spec.processes, env=_worker_env(spec),
                          cwd=str(spec.root))
        _banner(spec, dashboard.url, lines, workers)
        workers.start()
        stack.callback(workers.stop)  # also when anything below fails (a no-op once stopped)
        stop.on_repeat = workers.hurry
        progress = ProgressLine(spec.app.url, [lambda: whatsapp.status(spec.kit)]).start()
        stack.callback(progress.stop)
        code = _wait(stop, workers)
        stopped = workers.stop()
        print("stopping the dashboard and the sandboxes", flush=True)
    return code if code else (0 if stopped == 0 else 1)


def _start_kit_services(kit: Commerce, stack: contextlib.ExitStack) -> list[str]:
    """The sandboxes and the kit's webhook, each with its sample data; one line per system."""
    wa = SandboxServer().start()
    stack.callback(wa.stop)
    app_secret = secrets.token_hex(16)
    webhook = ThreadedServer(kit.webhook_app(app_secret=app_secret,
                                             verify_token=secrets.token_hex(8)),
                             "wa-webhook").start()
    stack.callback(webhook.stop)
    wa.state.configure_webhook(webhook.url + "/", app_secret)
    sample = whatsapp.seed(kit, wa.url, wa.state)
    return [f"WhatsApp sandbox   {wa.url}/  (what it accepted: {wa.url}/_sandbox/sent)",
            f"status webhook     {webhook.url}/  (the sandbox reports deliveries here)",
            sample.describe()]


def _dashboard(spec: DemoSpec) -> web.Running:
    config = web.DashboardConfig(users=(web.Account.with_password("admin", spec.password),),
                                 refresh_seconds=5)
    return web.start(spec.app, port=spec.port, config=config)


def _worker_env(spec: DemoSpec) -> dict[str, str]:
    """The workers open the same database (whatever the directory they start in) and import
    the app from the example's root."""
    env = dict(os.environ, CONVEYOR_URL=spec.app.url)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(spec.root),
                                                      env.get("PYTHONPATH", "")]))
    return env


def _banner(spec: DemoSpec, url: str, lines: list[str], workers: Workers) -> None:
    print(f"Conveyor demo on {spec.app!r}", flush=True)
    print(f"dashboard          {url}/  (login: admin / {spec.password})")
    for line in lines:
        print(line)
    print(f"workers            {workers.describe()}")
    print("Ctrl-C stops everything.", flush=True)


def _wait(stop: StopRequests, workers: Workers) -> int:
    """0 once a stop is requested; 1 if the workers ended on their own."""
    while not stop.requested.wait(0.5):
        code = workers.exit_code()
        if code is not None:
            print(f"the worker processes stopped on their own (exit code {code}); "
                  "stopping the demo", file=sys.stderr, flush=True)
            return 1
    print("stopping: the workers finish their running jobs (Ctrl-C again: at once)",
          flush=True)
    return 0


class StopRequests:
    """SIGINT and SIGTERM request a stop; another one calls `on_repeat` (hurry the workers)."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self.on_repeat: Callable[[], None] | None = None
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._handle)

    def _handle(self, _signum: int, _frame: FrameType | None) -> None:
        if self.requested.is_set() and self.on_repeat is not None:
            self.on_repeat()
        self.requested.set()
