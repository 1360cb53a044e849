"""Reading jobs (`Backend.query`), on every backend."""

from __future__ import annotations

from datetime import timedelta

from conveyor.backends import base
from conveyor.model import JobState as S
from tests.contract.seam import NOW, new


async def test_query_filters_and_pages(backend: base.Backend) -> None:
    await backend.insert([new(name="a", queue="q1"), new(name="b", queue="q2"),
                          new(name="a", queue="q2", run_at=NOW + timedelta(hours=1))], NOW)
    assert [j.name for j in await backend.query(base.JobFilter(names=["a"]))] == ["a", "a"]
    assert len(await backend.query(base.JobFilter(queues=["q2"], states=[S.SCHEDULED]))) == 1
    first = await backend.query(base.JobFilter(limit=2))
    rest = await backend.query(base.JobFilter(after_id=first[-1].id))
    assert len(first) == 2 and len(rest) == 1 and rest[0].id > first[-1].id
    assert await backend.get(10_000) is None
