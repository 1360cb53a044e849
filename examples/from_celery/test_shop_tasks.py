"""docs/comparison.md's migrated Celery tasks run: the chain charges then mails, the
charge's result is stored, and the beat entry became a stored cron schedule."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor import Conveyor, JobFilter, JobState


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Conveyor]:
    from examples.from_celery import shop_tasks

    shop_tasks.app.use_url(f"sqlite:///{tmp_path / 'shop.db'}")
    yield shop_tasks.app
    shop_tasks.app.close()


def test_the_migrated_tasks_run_in_order(shop: Conveyor) -> None:
    from examples.from_celery import shop_tasks

    shop_tasks.place_order(1001)
    assert shop.drain() == 2
    done = shop.jobs(JobFilter(states=[JobState.COMPLETED]))
    assert sorted(job.name.rsplit(".", 1)[-1] for job in done) == ["charge", "send_receipt"]
    charged = next(job for job in done if job.name.endswith("charge"))
    assert charged.result == {"order_id": 1001, "reference": "ch_1001_4999"}
    assert charged.queue == "billing"
    assert [s.name for s in shop.cron_schedules()] == ["nightly-report"]
