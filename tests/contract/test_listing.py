"""Job listing for operators: keyset pages, filters, counts, exports, a job's surroundings -
the same on every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest

from conveyor import Conveyor, ConveyorError, FrozenClock, JobFilter, JobNotFound, changes
from conveyor import listing as listing_module
from conveyor.model import JobState as S
from conveyor.registry import JobType

Job = JobType[..., None]


@pytest.fixture
def mail(app: Conveyor) -> Job:
    @app.job(name="shop.mail", queue="mail")
    def mail(order: int, to: str = "", **extra: object) -> None: ...

    return mail


@pytest.fixture
def sync(app: Conveyor) -> Job:
    @app.job(name="shop.sync", queue="sync")
    def sync(product: int) -> None: ...

    return sync


def _walk(app: Conveyor, where: JobFilter | None = None, *, order: str = "newest",
          limit: int = 7) -> tuple[list[int], list[list[int]]]:
    """Every page from the first, following next_cursor: all ids, and the pages."""
    pages: list[list[int]] = []
    cursor = None
    while True:
        page = app.admin.page(where, order=order, cursor=cursor, limit=limit)
        pages.append([job.id for job in page.jobs])
        if page.next_cursor is None:
            return [i for ids in pages for i in ids], pages
        cursor = page.next_cursor


def test_pages_walk_newest_first_and_back(app: Conveyor, mail: Job) -> None:
    ids = [mail.enqueue(n).id for n in range(23)]
    seen, pages = _walk(app)
    assert seen == ids[::-1]
    assert [len(p) for p in pages] == [7, 7, 7, 2]
    first = app.admin.page(limit=7)
    assert first.prev_cursor is None
    second = app.admin.page(cursor=first.next_cursor, limit=7)
    back = app.admin.page(cursor=second.prev_cursor, limit=7)
    assert [j.id for j in back.jobs] == [j.id for j in first.jobs]
    assert back.prev_cursor is None  # nothing newer than the first page
    assert [j.id for j in app.admin.page(cursor=back.next_cursor, limit=7).jobs] == \
        [j.id for j in second.jobs]


def test_pages_walk_oldest_first(app: Conveyor, mail: Job) -> None:
    ids = [mail.enqueue(n).id for n in range(10)]
    seen, pages = _walk(app, order="oldest", limit=4)
    assert seen == ids
    assert [len(p) for p in pages] == [4, 4, 2]
    last = app.admin.page(order="oldest", cursor=f"n{ids[7]}", limit=4)
    assert [j.id for j in last.jobs] == ids[8:]
    earlier = app.admin.page(order="oldest", cursor=last.prev_cursor, limit=4)
    assert [j.id for j in earlier.jobs] == ids[4:8]


def test_no_duplicates_or_gaps_while_jobs_are_inserted(app: Conveyor, mail: Job) -> None:
    before = [mail.enqueue(n).id for n in range(30)]
    newest, oldest, added = [], [], []
    cursors: dict[str, str | None] = {"newest": None, "oldest": None}
    for round_ in range(10):
        for order, seen in (("newest", newest), ("oldest", oldest)):
            if round_ and cursors[order] is None:
                continue
            page = app.admin.page(order=order, cursor=cursors[order], limit=4)  # type: ignore[arg-type]
            seen.extend(job.id for job in page.jobs)
            cursors[order] = page.next_cursor
        added += [mail.enqueue(100 + round_).id for _ in range(2)]
    assert newest == before[::-1]  # jobs inserted meanwhile are newer than the first page
    assert oldest == before + added[: len(oldest) - len(before)]
    assert len(set(oldest)) == len(oldest)


def test_filters_by_state_queue_name_and_time(app: Conveyor, mail: Job, sync: Job,
                                              clock: FrozenClock) -> None:
    start = clock.now()
    early = [mail.enqueue(n).id for n in range(3)]
    clock.advance(3600)
    later = [sync.enqueue(n).id for n in range(3)]
    app.admin.apply(changes.CancelJobs(), JobFilter(ids=[early[1], later[2]]))

    def ids(**fields: object) -> list[int]:
        return _walk(app, JobFilter(**fields), limit=2)[0]  # type: ignore[arg-type]

    assert ids(states=[S.CANCELLED]) == [later[2], early[1]]
    assert ids(states=[S.AVAILABLE], queues=["sync"]) == later[1::-1]
    assert ids(states=[S.AVAILABLE, S.CANCELLED], queues=["mail"]) == early[::-1]
    assert ids(names=["shop.mail"]) == early[::-1]
    assert ids(queues=["mail", "sync"]) == (early + later)[::-1]
    assert ids(inserted_after=start + timedelta(minutes=30)) == later[::-1]
    assert ids(inserted_before=start + timedelta(minutes=30)) == early[::-1]
    assert ids(states=[S.RUNNING]) == []
    assert ids(names=["no.such.job"]) == []


def test_text_search_in_arguments(app: Conveyor, mail: Job) -> None:
    ana = mail.enqueue(1, "Ana@Example.com").id
    bob = mail.enqueue(2, "bob@example.com", coupon="SUMMER_50%").id
    other = mail.enqueue(3, "x", note="50 percent").id

    def found(text: str) -> list[int]:
        return _walk(app, JobFilter(text=text))[0]

    assert found("ana@example") == [ana]  # case-insensitive
    assert found("EXAMPLE.COM") == [bob, ana]
    assert found("coupon") == [bob]  # keyword names too
    assert found("50%") == [bob]  # % and _ match only themselves
    assert found("R_5") == [bob]
    assert found("_") == [bob]
    assert found("50") == [other, bob]
    assert found("nowhere") == []
    assert found("'; DROP TABLE conveyor_jobs; --") == []
    assert app.admin.count(JobFilter(text="example.com")) == 2


def test_text_search_pages_stop_at_the_scan_budget(app: Conveyor, mail: Job,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listing_module, "SCAN_ROWS", 4)
    monkeypatch.setattr(listing_module, "SCAN_SECONDS", 0.0)  # one window per page
    ids = [mail.enqueue(n, "hit" if n % 5 == 0 else "miss").id for n in range(22)]
    hits = [i for n, i in enumerate(ids) if n % 5 == 0]
    for order, expected in (("newest", hits[::-1]), ("oldest", hits)):
        seen, pages = _walk(app, JobFilter(text="hit"), order=order, limit=3)
        assert seen == expected
        assert any(not page for page in pages[:-1])  # short pages that still go on
        assert len(pages) >= 22 // 4
    first = app.admin.page(JobFilter(text="hit"), limit=2)
    assert len(first.jobs) == 1 and first.next_cursor is not None


def test_a_generous_budget_fills_pages_across_windows(app: Conveyor, mail: Job,
                                                     clock: FrozenClock,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listing_module, "SCAN_ROWS", 3)
    monkeypatch.setattr(listing_module, "SCAN_SECONDS", 3600.0)
    start = clock.now()
    ids = []
    for n in range(20):
        ids.append(mail.enqueue(n).id)
        clock.advance(60)
    where = JobFilter(inserted_after=start + timedelta(minutes=4),
                      inserted_before=start + timedelta(minutes=15))
    seen, pages = _walk(app, where, order="oldest", limit=4)
    assert seen == ids[4:15]
    assert [len(p) for p in pages] == [4, 4, 3]


def test_prev_cursor_of_a_text_search_reads_back(app: Conveyor, mail: Job,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listing_module, "SCAN_ROWS", 3)
    monkeypatch.setattr(listing_module, "SCAN_SECONDS", 0.0)
    ids = [mail.enqueue(n, "hit" if n % 2 else "miss").id for n in range(12)]
    where = JobFilter(text="hit")
    pages = []
    cursor = None
    while True:
        page = app.admin.page(where, cursor=cursor, limit=2)
        pages.append(page)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    back: list[int] = []
    cursor = pages[-1].prev_cursor
    while cursor is not None:
        page = app.admin.page(where, cursor=cursor, limit=2)
        back = [j.id for j in page.jobs] + back
        cursor = page.prev_cursor
    hits = [i for n, i in enumerate(ids) if n % 2]
    assert back + [j.id for j in pages[-1].jobs] == hits[::-1]


def test_bad_cursors_and_limits_are_refused(app: Conveyor, mail: Job) -> None:
    mail.enqueue(1)
    for cursor in ("x1", "n", "n-1", "n1; DROP TABLE x", "p" + "9" * 30):
        with pytest.raises(ConveyorError, match="cursor"):
            app.admin.page(cursor=cursor)
    with pytest.raises(ConveyorError, match="limit"):
        app.admin.page(limit=0)
    with pytest.raises(ConveyorError, match="order"):
        app.admin.page(order="sideways")  # type: ignore[arg-type]
    with pytest.raises(ConveyorError, match="text"):
        app.admin.page(JobFilter(text="a\x00b"))
    with pytest.raises(ConveyorError, match="cap"):
        app.admin.count(cap=0)


def test_count_with_a_cap(app: Conveyor, mail: Job, sync: Job) -> None:
    for n in range(5):
        mail.enqueue(n)
    sync.enqueue(1)
    assert app.admin.count() == 6
    assert app.admin.count(JobFilter(queues=["mail"])) == 5
    assert app.admin.count(JobFilter(queues=["mail"]), cap=3) == 3
    assert app.admin.count(JobFilter(states=[S.AVAILABLE], names=["shop.sync"]), cap=3) == 1


async def test_iter_jobs_streams_everything_in_order(app: Conveyor, mail: Job) -> None:
    ids = [(await mail.aenqueue(n)).id for n in range(25)]
    streamed = [job.id async for job in app.admin.aiter_jobs(chunk=4)]
    assert streamed == ids[::-1]
    oldest = [job.id async for job in app.admin.aiter_jobs(
        JobFilter(text="zzz"), order="oldest", chunk=4)]
    assert oldest == []


def test_iter_jobs_blocking(app: Conveyor, mail: Job) -> None:
    ids = [mail.enqueue(n).id for n in range(9)]
    assert [job.id for job in app.admin.iter_jobs(order="oldest", chunk=2)] == ids


def test_job_detail_shows_dependencies_batch_and_audit(app: Conveyor, mail: Job,
                                                       sync: Job) -> None:
    first = sync.enqueue(1)
    second = sync.enqueue(2)
    joined = mail.options(depends_on=[first, second]).enqueue(9)
    detail = app.admin.job_detail(joined.id)
    assert detail.job.id == joined.id
    assert [j.id for j in detail.dependencies] == [first.id, second.id]
    assert detail.dependants == [] and detail.batch is None and detail.audit == []
    assert [j.id for j in app.admin.job_detail(first.id).dependants] == [joined.id]
    app.admin.apply(changes.EditJobs(priority=3), JobFilter(ids=[first.id]), actor="ana")
    app.admin.apply(changes.CancelJobs(), JobFilter(queues=["sync"]), actor="bob")
    audit = app.admin.job_detail(first.id).audit
    assert [(a.actor, a.action, a.count) for a in audit] == [("bob", "cancel", 2),
                                                             ("ana", "edit", 1)]
    assert audit[0].filter["queues"] == ["sync"]
    assert [a.actor for a in app.admin.job_detail(second.id).audit] == ["bob"]
    batch = app.batch([mail.s(1), mail.s(2)], name="welcome")
    member = app.admin.page(JobFilter(batch_ids=[batch.id]), limit=1).jobs[0]
    found = app.admin.job_detail(member.id).batch
    assert found is not None and (found.id, found.name) == (batch.id, "welcome")
    with pytest.raises(JobNotFound):
        app.admin.job_detail(10**9)


def test_audit_pages_and_filters(app: Conveyor, mail: Job) -> None:
    jobs = [mail.enqueue(n) for n in range(3)]
    for n, job in enumerate(jobs):
        app.admin.apply(changes.EditJobs(priority=n), JobFilter(ids=[job.id]),
                        actor="ana" if n % 2 == 0 else "bob")
    app.admin.apply(changes.CancelJobs(), JobFilter(names=["shop.mail"]), actor="ana")
    entries = []
    cursor = None
    while True:
        page = app.admin.audit(cursor=cursor, limit=3)
        entries += page.entries
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert [(e.actor, e.action) for e in entries] == [
        ("ana", "cancel"), ("ana", "edit"), ("bob", "edit"), ("ana", "edit")]
    assert [e.id for e in entries] == sorted((e.id for e in entries), reverse=True)
    assert all(e.at == entries[0].at for e in entries)  # frozen clock
    assert [e.action for e in app.admin.audit(actor="bob").entries] == ["edit"]
    of_job = app.admin.audit(job_id=jobs[1].id)
    assert [(e.actor, e.action) for e in of_job.entries] == [("ana", "cancel"), ("bob", "edit")]
    assert app.admin.audit(job_id=jobs[1].id, actor="ana").entries == of_job.entries[:1]
    with pytest.raises(ConveyorError, match="forward"):
        app.admin.audit(cursor="p5")
