"""`run(spec)`: start the demo's parts, print where they are, wait for SIGINT or SIGTERM, and
stop everything in reverse order (exit code 0 after a clean stop).

Order: a fresh database (`database`; not while the dashboard's port is taken, perhaps by a
demo still running on it), migrate, dashboard, the sandbox and webhook processes, each
system's sample data, the worker processes, the helpers that play the customers, the status
line. Each part that started registers its stop on an `ExitStack`, so whatever fails
half-way, what did start is stopped; the worker processes are stopped first and waited for,
so no job is cut short by a server going away under it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import psycopg

from conveyor import Conveyor, web
from conveyor_commerce.demo import campaigns, carts, catalog, database, whatsapp
from conveyor_commerce.demo.progress import ProgressLine, Reporter
from conveyor_commerce.demo.sandbox_control import PrestaShopSandbox, WhatsAppSandbox
from conveyor_commerce.demo.servers import ServerProcess, free_port
from conveyor_commerce.demo.workers import WORKER_GRACE, Workers
from conveyor_commerce.kit import Commerce


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


@dataclasses.dataclass(frozen=True, slots=True)
class Children:
    """How the demo's processes start: the same database, the app importable, logs here."""

    env: dict[str, str]
    cwd: str
    logs: Path

    @classmethod
    def of(cls, spec: DemoSpec) -> Children:
        env = dict(os.environ, CONVEYOR_URL=spec.app.url)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(spec.root),
                                                          env.get("PYTHONPATH", "")]))
        return cls(env, str(spec.root), Path(tempfile.mkdtemp(prefix="conveyor-demo-")))

    def conveyor(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "conveyor", *args]


@dataclasses.dataclass(frozen=True, slots=True)
class Started:
    """What the kit's part of the demo started: lines for the banner, figures for the status
    line, and helper threads playing the customers (started once the workers run)."""

    lines: list[str]
    reporters: list[Reporter]
    helpers: list[carts.Shopper]


def run(spec: DemoSpec) -> int:
    stop = StopRequests()
    if not _port_free(spec.port):
        print(f"the dashboard cannot listen on 127.0.0.1:{spec.port} (in use; another demo?); "
              "set CONVEYOR_DEMO_PORT to another port", file=sys.stderr)
        return 2
    try:
        database.fresh(spec.app.url)
    except (database.NotADemoDatabase, OSError, psycopg.Error) as exc:
        print(f"cannot start the demo: {exc}", file=sys.stderr)
        return 2
    children = Children.of(spec)
    with contextlib.ExitStack() as stack:
        stack.callback(spec.app.close)
        stack.callback(spec.kit.close)
        spec.kit.migrate()
        dashboard = _dashboard(spec)
        stack.callback(dashboard.stop)
        started = _seed(spec.kit, _start_servers(spec, children, stack))
        lines = [*started.lines, spec.seed_jobs()]
        workers = Workers(spec.app_ref, processes=spec.processes, env=children.env,
                          cwd=children.cwd)
        _banner(spec, dashboard.url, lines, workers, children.logs)
        workers.start()
        stack.callback(workers.stop)  # also when anything below fails (a no-op once stopped)
        stop.on_repeat = workers.hurry
        for helper in started.helpers:
            stack.callback(helper.start().stop)
        stack.callback(ProgressLine(spec.app.url, started.reporters).start().stop)
        code = _wait(stop, workers)
        stopped = workers.stop()
        print("stopping the dashboard and the sandboxes", flush=True)
    return code if code else (0 if stopped == 0 else 1)


@dataclasses.dataclass(frozen=True, slots=True)
class Servers:
    """The sandboxes and the webhook, running, with the secrets they were started with."""

    whatsapp: ServerProcess
    webhook: ServerProcess
    prestashop: ServerProcess
    app_secret: str
    shop_key: str


def _start_servers(spec: DemoSpec, children: Children,
                   stack: contextlib.ExitStack) -> Servers:
    """Launched together (each imports Conveyor: in parallel it costs one import's time),
    ready once each port answers; the WhatsApp sandbox reports deliveries to the webhook."""
    app_secret, shop_key = secrets.token_hex(16), secrets.token_hex(16)
    ports = [free_port() for _ in range(3)]
    servers = Servers(
        ServerProcess("WhatsApp sandbox", children.conveyor(
            "commerce", "sandbox", "whatsapp", "--port", str(ports[0]),
            "--number", whatsapp.PHONE_NUMBER_ID, "--token", whatsapp.TOKEN),
            port=ports[0], env=children.env, cwd=children.cwd,
            log=children.logs / "whatsapp-sandbox.log"),
        ServerProcess("status webhook", children.conveyor(
            "--app", spec.app_ref, "commerce", "webhook", "--port", str(ports[1])),
            port=ports[1], cwd=children.cwd, log=children.logs / "webhook.log",
            env={**children.env, "WHATSAPP_APP_SECRET": app_secret,
                 "WHATSAPP_VERIFY_TOKEN": secrets.token_hex(8)}),
        ServerProcess("PrestaShop sandbox", children.conveyor(
            "commerce", "sandbox", "prestashop", "--port", str(ports[2])),
            port=ports[2], cwd=children.cwd, log=children.logs / "prestashop-sandbox.log",
            env={**children.env, "PRESTASHOP_SANDBOX_KEY": shop_key}),
        app_secret, shop_key)
    processes = (servers.whatsapp, servers.webhook, servers.prestashop)
    for server in processes:
        stack.callback(server.launch().stop)
    for server in processes:
        server.ready()
    WhatsAppSandbox(servers.whatsapp.url).send_statuses(servers.webhook.url + "/", app_secret,
                                                        read=False)
    return servers


def _seed(kit: Commerce, servers: Servers) -> Started:
    """Each system's sample data; the lines and figures that show it."""
    wa, shop = servers.whatsapp.url, servers.prestashop.url
    messages = whatsapp.seed(kit, WhatsAppSandbox(wa))
    cart_sample = carts.seed(kit, whatsapp.ACCOUNT)
    campaign = campaigns.seed(kit, WhatsAppSandbox(wa))
    products = catalog.seed(kit, PrestaShopSandbox(shop), servers.shop_key)
    return Started(
        lines=[f"WhatsApp sandbox   {wa}/  (what it accepted: {wa}/_sandbox/sent)",
               f"status webhook     {servers.webhook.url}/  (the sandbox reports deliveries "
               "here)",
               f"PrestaShop sandbox {shop}/  (Webservice under /api/; what it holds: "
               f"{shop}/_sandbox/objects/products)",
               messages.describe(), cart_sample.describe(), campaign.describe(),
               products.describe()],
        reporters=[lambda: whatsapp.status(kit), lambda: carts.status(kit),
                   lambda: campaigns.status(kit), lambda: catalog.status(kit)],
        helpers=[carts.Shopper(kit)])


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _dashboard(spec: DemoSpec) -> web.Running:
    config = web.DashboardConfig(users=(web.Account.with_password("admin", spec.password),),
                                 refresh_seconds=5)
    return web.start(spec.app, port=spec.port, config=config)


def _banner(spec: DemoSpec, url: str, lines: list[str], workers: Workers,
            logs: Path) -> None:
    print(f"Conveyor demo on {spec.app!r}", flush=True)
    print(f"dashboard          {url}/  (login: admin / {spec.password})")
    for line in lines:
        print(line)
    print(f"workers            {workers.describe()}")
    print(f"server logs        {logs}/")
    print("Ctrl-C stops everything.", flush=True)


def _wait(stop: StopRequests, workers: Workers) -> int:
    """0 once a stop is requested; 1 if the workers ended on their own."""
    while not stop.requested.wait(0.5):
        code = workers.exit_code()
        if code is not None:
            print(f"the worker processes stopped on their own (exit code {code}); "
                  "stopping the demo", file=sys.stderr, flush=True)
            return 1
    print(f"stopping: running jobs get {WORKER_GRACE:g} s to finish, then go back to their "
          "queues (Ctrl-C again: at once)", flush=True)
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
