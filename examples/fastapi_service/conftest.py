"""The service's own Conveyor application under the plugin's fixtures: each test gets it on
an empty database (SQLite, and PostgreSQL when configured) and a frozen clock."""

from collections.abc import Iterator

import pytest

from conveyor import Conveyor, FrozenClock, testing
from examples.fastapi_service import jobs


@pytest.fixture
def conveyor_app(conveyor_url: str, conveyor_clock: FrozenClock) -> Iterator[Conveyor]:
    with testing.attach(jobs.app, conveyor_url, conveyor_clock) as app:
        yield app
