"""Every CLI message speaks plain names: no Python reprs of enums (`<JobState.X: 'x'>`),
lists (`['a', 'b']`), datetimes or objects, on success and on refusal alike."""

from __future__ import annotations

import re

import pytest

from conveyor import Conveyor
from tests.cli.harness import run

REPR = re.compile(r"<[\w.]+: |<[\w.]+ object at|\['|JobState\.|datetime\.\w+\(|"
                  r"\bUUID\(|\bDecimal\(")
COMMANDS = [
    ["jobs", "list"], ["jobs", "list", "--json"], ["jobs", "show", "1"],
    ["jobs", "show", "1", "--json"], ["jobs", "show", "999"], ["failed"], ["stats"],
    ["edit", "2", "--priority", "1"], ["edit", "3", "--args", "[1, 2, 3]"],
    ["edit", "3", "--queue", " bad "], ["edit", "999", "--priority", "1"],
    ["retry", "--state", "available", "--dry-run"], ["cancel", "3", "--dry-run"],
    ["delete", "999"], ["flush", "--dry-run"],
    ["cron"], ["cron", "run", "nope"], ["cron", "pause", "nope"], ["cron", "run", "hourly"],
    ["pause", "sync"], ["resume", "sync"], ["pause", "--key", "k:1"], ["limits"],
    ["batches"], ["batches", "show", "999"], ["monitor", "--max-wait", "1"],
    ["enqueue", "nope"], ["enqueue", "sync_product", "--args", "[1]"],
    ["enqueue", "sync_product", "--args", "[1, 2]", "--delay", "5"],
]


@pytest.fixture
def shop(app: Conveyor) -> Conveyor:
    @app.job(name="sync_product", queue="sync", max_attempts=1)
    def sync_product(product_id: int, shop_id: int) -> None:
        if product_id < 0:
            raise ValueError("negative product id")

    app.cron("0 * * * *", sync_product, args=(5, 1), name="hourly")
    sync_product.enqueue(-1, 1)  # 1: discarded
    sync_product.enqueue(5, 1)  # 2: completed
    app.drain()
    sync_product.enqueue(2, 1)  # 3: available
    return app


def test_messages_hold_no_python_reprs(shop: Conveyor) -> None:
    for args in COMMANDS:
        result = run(shop, *args)
        assert result.exit_code in (0, 1, 2), args
        if result.exit_code:
            assert "Traceback" not in result.output, args
        found = REPR.search(result.output)
        assert found is None, f"{' '.join(args)}: {found[0]!r} in: {result.output}"


def test_the_check_catches_the_reprs_it_looks_for() -> None:
    for text in ("only [<JobState.AVAILABLE: 'available'>] jobs", "known: ['a', 'b']",
                 "<conveyor.model.Job object at 0x7f>", "at datetime.datetime(2026, 1, 1)"):
        assert REPR.search(text), text
    assert not REPR.search('File "x.py", line 3, in <lambda>\n  raise ValueError("x")')


def test_refusals_name_states_and_known_names_plainly(shop: Conveyor) -> None:
    edit = run(shop, "edit", "2", "--priority", "1")
    assert "job 2 is completed; only available, cancelled, discarded, " in edit.output
    cron = run(shop, "cron", "run", "nope")
    assert "no cron schedule named 'nope'; stored: hourly" in cron.output
