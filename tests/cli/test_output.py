"""What operator commands print: whole rows when piped, JSON where JSON is asked for, plain
names instead of Python reprs, and counts that say what happened."""

from __future__ import annotations

import pytest

from conveyor import Conveyor
from tests.cli.harness import run


@pytest.fixture
def failures(app: Conveyor) -> Conveyor:
    @app.job(name="shop.jobs.sync_product_with_a_long_name", queue="sync", max_attempts=1)
    def sync(product_id: int) -> None:
        raise ValueError(f"product {product_id}\tcannot be\nsynced")

    for n in range(4):
        sync.enqueue(n)
    app.drain()
    sync.enqueue(99)
    return app


def test_piped_tables_print_one_whole_line_per_row_even_in_narrow_terminals(
        failures: Conveyor) -> None:
    listed = run(failures, "jobs", "list", columns=60)
    header, *rows = listed.output.splitlines()
    assert header.split("\t") == ["id", "name", "queue", "state", "priority", "attempt",
                                  "run_at", "last_error"]
    assert sum("discarded" in row for row in rows) == 4  # `| grep -c discarded`
    assert all(len(row.split("\t")) == 8 for row in rows)
    assert "product 0\\tcannot be\\nsynced" in listed.output
    assert "shop.jobs.sync_product_with_a_long_name" in listed.output
    stats = run(failures, "stats", columns=60).output.splitlines()
    assert stats[1].split("\t") == ["sync", "0", "0", "1", "0", "0", "0", "4", "0", "0.0"]
