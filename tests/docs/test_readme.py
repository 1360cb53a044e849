"""Every ```python block of README.md runs, as a reader would run it.

The blocks run in order in one namespace (a module named `readme`), in a temporary directory,
so `Conveyor("sqlite:///shop.db")` of the first block is the app of the ones after it. After
each block the jobs it enqueued are drained, and none may have failed. Names the README uses
without defining them (a `post` coroutine, a few jobs such as `report`) come from `STUBS`
below, declared on the README's own app just before the first block that uses them.

An HTML comment on the line before a block says how it runs:
- `<!-- worker -->`: a worker serves the app while the block runs (it waits for a result);
- `<!-- postgres -->`: alone, on the test PostgreSQL database (skipped without a server);
- `<!-- fragment -->`: only compiled.
Tracebacks point at README.md's own line numbers.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import dataclasses
import re
import threading
import types
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from conveyor import Conveyor, JobFilter, JobState, crontab

README = Path(__file__).resolve().parents[2] / "README.md"
MARKERS = ("worker", "postgres", "fragment")
_FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
_MARKER = re.compile(r"<!--\s*(\w+)\s*-->\s*\Z")


@dataclasses.dataclass(frozen=True)
class Block:
    line: int
    """Line of README.md where the code starts (after the fence)."""
    code: str
    marker: str | None

    def compiled(self) -> types.CodeType:
        return compile("\n" * (self.line - 1) + self.code, str(README), "exec")

    def free_names(self) -> set[str]:
        """Names the block reads but neither defines nor imports."""
        tree = ast.parse(self.code)
        loaded, bound = set(), set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                bound.add(node.name)
            elif isinstance(node, ast.Import | ast.ImportFrom):
                bound.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, ast.arg):
                bound.add(node.arg)
        return loaded - bound - set(dir(builtins))


def blocks() -> list[Block]:
    text = README.read_text()
    found = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n")
        marker = _MARKER.search(before)
        found.append(Block(text.count("\n", 0, match.start(1)) + 1, match[1],
                           marker[1] if marker else None))
    return found


# -- what the README leaves to the reader -----------------------------------------------


@dataclasses.dataclass(frozen=True)
class Response:
    status_code: int = 200
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


async def _post(*args: Any, **kwargs: Any) -> Response:
    return Response()


def _job(name: str, func: Callable[..., Any]) -> Callable[[Conveyor], Any]:
    return lambda app: app.job(name=name)(func)


def _fetch(url: str) -> str:
    return f"<html>{url}</html>"


STUBS: dict[str, Callable[[Conveyor], Any]] = {
    "post": lambda app: _post,
    "products": lambda app: [1, 2, 3],
    "shop": lambda app: 1,
    "url": lambda app: "https://shop.example/feed",
    "nightly_sync": _job("nightly_sync", lambda shop_id: None),
    "report": _job("report", lambda: None),
    "alert": _job("alert", lambda: None),
    "cleanup": _job("cleanup", lambda: None),
    "sync_category": _job("sync_category", lambda category_id: None),
    "fetch": _job("fetch", _fetch),
    "store": _job("store", lambda: None),
}


@contextlib.contextmanager
def _worker(app: Conveyor | None) -> Iterator[None]:
    """A worker serving `app` in a thread for the duration (as one in another process would)."""
    if app is None:
        yield
        return
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            app.drain()
            stop.wait(0.02)

    thread = threading.Thread(target=serve, name="readme-worker")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=60)


def _run(block: Block, namespace: dict[str, Any]) -> None:
    app = namespace.get("app")
    for name in sorted(block.free_names() - set(namespace)):
        assert name in STUBS, f"README.md:{block.line}: {name!r} is defined nowhere"
        assert app is not None, f"README.md:{block.line}: stub {name!r} needs an app first"
        namespace[name] = STUBS[name](app)
    with _worker(app if block.marker == "worker" else None):
        exec(block.compiled(), namespace)


def _fire_schedules(app: Conveyor) -> int:
    """What the workers' leader does, for schedules first seen two days ago."""
    async def fire() -> int:
        backend, now = await app.storage(), app.clock.now()
        await crontab.store(app.schedules, backend, now - timedelta(days=2))
        return await crontab.Scheduler(app.schedules, backend).tick(now)

    return app.blocking.run(fire)


def _failed(app: Conveyor) -> list[str]:
    bad = app.jobs(JobFilter(states=[JobState.DISCARDED, JobState.RETRYABLE], limit=100))
    return [f"{job.name}: {job.errors[-1].message if job.errors else job.state}" for job in bad]


# -- the tests ------------------------------------------------------------------------------


def test_every_block_compiles_and_is_marked_correctly() -> None:
    found = blocks()
    assert len(found) >= 8
    for block in found:
        assert block.marker in (None, *MARKERS), f"README.md:{block.line}: {block.marker}"
        block.compiled()


def test_the_readme_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "readme"}
    ran: list[int] = []
    try:
        for block in blocks():
            if block.marker in ("postgres", "fragment"):
                continue
            _run(block, namespace)
            app: Conveyor = namespace["app"]
            if app.schedules and "app.cron(" in block.code:
                assert _fire_schedules(app) >= len(app.schedules)
            app.drain()
            assert _failed(app) == [], f"README.md:{block.line}"
            ran.append(block.line)
        done = app.jobs(JobFilter(states=[JobState.COMPLETED], limit=1000))
        names = {job.name.rsplit(".", 1)[-1] for job in done}
        # job declarations, enqueue, limits, unique jobs, batches, chains and cron all ran:
        assert {"sync_product", "sync_stock", "send_message", "broadcast", "import_product",
                "report", "nightly_sync", "cleanup_carts", "cleanup", "sync_category",
                "fetch", "parse", "store"} <= names, names
        chained = [job for job in done if job.name.endswith(".parse")]
        assert chained and all(job.attempt == 1 for job in chained)
    finally:
        app = namespace.get("app")
        if app is not None:
            app.close()
    assert len(ran) >= 7


@pytest.mark.postgres
def test_the_postgres_blocks_run(pg_url: str) -> None:
    import psycopg

    from tests.conftest import _truncate

    _truncate(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS orders")
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY)")
    app = Conveyor(pg_url)
    namespace: dict[str, Any] = {"__name__": "readme", "app": app, "url": pg_url,
                                 "ship_order": app.job(name="ship_order")(lambda order_id: None),
                                 "order_id": 42}
    try:
        for block in (b for b in blocks() if b.marker == "postgres"):
            _run(block, namespace)
        shipped = app.jobs(JobFilter(limit=10))
        assert [(job.name, job.args) for job in shipped] == [("ship_order", [42])]
        app.drain()
        assert app.get(shipped[0].id).state is JobState.COMPLETED
    finally:
        app.close()
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS orders")
