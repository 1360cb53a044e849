"""Job types: what `@app.job` returns, and the table of them an application knows by name."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

from conveyor import arguments, backoff, encoding, enqueued, errors, jobrows, model, unique
from conveyor import limits as job_limits
from conveyor import options as job_options

if TYPE_CHECKING:
    from conveyor.app import Conveyor

P = ParamSpec("P")
R = TypeVar("R")
ArgsPair = tuple[Sequence[Any], dict[str, Any]]
DiscardHook = Callable[[model.Job, BaseException | None], Any]


@dataclasses.dataclass(frozen=True, slots=True)
class UniquePolicy:
    """How a job type is unique: key material, time window and covered states."""

    key_function: unique.KeyFunction | None
    period: float | None
    states_mask: int


@dataclasses.dataclass(frozen=True, slots=True)
class JobType(Generic[P, R]):
    """A registered job function with its defaults. Call it to run the function directly."""

    app: Conveyor
    name: str
    func: Callable[P, R]
    defaults: job_options.EnqueueOptions
    backoff: backoff.BackoffPolicy
    on_discard: DiscardHook | None = None
    unique: UniquePolicy | None = None
    limits: job_limits.JobLimits | None = None
    isolation: str = "thread"
    """"thread" (plain def in the pool, async def on the loop) or "process" (killable)."""
    is_async: bool = False
    signature: inspect.Signature = dataclasses.field(repr=False, default=inspect.Signature())
    _arity: tuple[int, float] | None = dataclasses.field(init=False, repr=False, default=None)
    """(required, most) positional arguments, when a call without keywords can be checked by
    counting; binding through `inspect` costs ~5 us a row, a third of a bulk enqueue."""
    _binder: arguments.Binder | None = dataclasses.field(init=False, repr=False, default=None)
    """Binds a call's arguments by name, for unique jobs and for key and cost functions,
    which take them that way (see `arguments`); None when nothing needs them."""
    _plain_rows: Callable[[str, str, datetime], model.NewJob] | None = dataclasses.field(
        init=False, repr=False, default=None)
    """Builds rows with the type's own defaults from a call's encoded arguments and run
    time, for a type whose rows nothing else varies in (set at its first enqueue)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_arity", _positional_arity(self.signature))
        if self.unique is not None or (self.limits is not None and self.limits.functions()):
            object.__setattr__(self, "_binder", arguments.Binder(self.name, self.signature))

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.func(*args, **kwargs)

    # -- building rows --------------------------------------------------------------------

    def options(self, **overrides: Any) -> Enqueuer[P, R]:
        """The same job with some options changed for the next enqueue."""
        return Enqueuer(self, self.defaults.merged(job_options.build(self.name, **overrides)))

    def using(self, connection: Any) -> Enqueuer[P, R]:
        """Enqueue on the caller's own connection, inside its transaction (see
        `backends.transactional`): rolled back, the jobs never existed."""
        return Enqueuer(self, self.defaults, connection)

    def new_job(self, args: Sequence[Any], kwargs: dict[str, Any],
                opts: job_options.EnqueueOptions, now: datetime | None = None) -> model.NewJob:
        """Check arguments against the signature, encode them, and apply the options."""
        now = now or self.app.clock.now()
        if opts is self.defaults and self.unique is None and self.limits is None:
            self.check_arguments(args, kwargs)
            args_json, kwargs_json = self._quick(args, kwargs)
            rows = self._plain_rows
            if rows is None:  # the options' fields, worked out and checked once
                rows = model.rows_like(model.NewJob(
                    args_json="[]", kwargs_json="{}", **self._shared_fields(opts, now)))
                object.__setattr__(self, "_plain_rows", rows)
            return rows(args_json, kwargs_json, opts.run_time(now))
        call = None if self._binder is None else self._binder.bind(args, kwargs)
        if call is None:
            self.check_arguments(args, kwargs)
        args_json, kwargs_json = self._encode(args, kwargs)
        fields = self._shared_fields(opts, now)
        if self.unique is not None or self.limits is not None:
            fields.update(self._keyed_fields(call, opts, now))
        return model.NewJob(args_json=args_json, kwargs_json=kwargs_json, **fields)

    def new_jobs(self, calls: Iterable[Any], opts: job_options.EnqueueOptions,
                 now: datetime) -> jobrows.JobRows:
        """The rows of many `(args, kwargs)` calls with the same options, every call checked
        and encoded, as columns: what the rows share (queue, times, options) is worked out
        and checked once, not once a row (at 20,000 rows that was most of building them);
        arguments, and the keys of unique or limited jobs, are a column each."""
        fields = self._shared_fields(opts, now)
        model.NewJob(args_json="[]", kwargs_json="{}", **fields)  # its checks, once
        args_column: list[str] = []
        kwargs_column: list[str] = []
        keyed = self._binder is not None or self.limits is not None
        keys: dict[str, list[Any]] = {}
        arity = self._arity
        for index, call in enumerate(_iterable(self.name, calls)):
            if type(call) is tuple and len(call) == 2 and type(call[1]) is dict \
                    and (type(call[0]) is tuple or type(call[0]) is list):
                args, kwargs = call
            else:
                args, kwargs = _pair(self.name, index, call)
            bound = self._checked(args, kwargs) if keyed or kwargs or arity is None \
                or not arity[0] <= len(args) <= arity[1] else None
            args_json, kwargs_json = self._quick(args, kwargs)
            args_column.append(args_json)
            kwargs_column.append(kwargs_json)
            if keyed:
                for key, value in self._keyed_fields(bound, opts, now).items():
                    keys.setdefault(key, []).append(value)
        varying = {"args_json": args_column, "kwargs_json": kwargs_column, **keys}
        jobrows.fold(varying, fields)
        for key in ("rate_key", "concurrency_key"):  # strings of the caller's functions
            for value in varying.get(key, ()):
                if value is not None and "\x00" in value:
                    model.NewJob(**{**fields, "args_json": "[]", "kwargs_json": "{}",
                                    key: value})
        if keys:  # shared key fields are checked once, like the others
            model.NewJob(**{"args_json": "[]", "kwargs_json": "{}", **fields})
        return jobrows.JobRows(fields, varying, len(args_column))

    def _checked(self, args: Sequence[Any], kwargs: dict[str, Any]) -> arguments.Call | None:
        """Check the call against the signature; bound by name where something needs it."""
        call = None if self._binder is None else self._binder.bind(args, kwargs)
        if call is None:
            self.check_arguments(args, kwargs)
        return call

    def _keyed_fields(self, call: arguments.Call | None, opts: job_options.EnqueueOptions,
                      now: datetime) -> dict[str, Any]:
        """The fields of a row that its arguments decide: unique key, limit keys, cost."""
        fields: dict[str, Any] = {}
        if self.unique is not None and call is not None:
            fields["unique_key"] = unique.key_for(self.name, call, self.unique.key_function,
                                                  self.unique.period, now)
            fields["unique_states"] = self.unique.states_mask
        if self.limits is not None:
            fields.update(_limit_fields(self.limits.resolve(
                self.name, None if call is None else call.named, opts.cost)))
        return fields

    def _quick(self, args: Sequence[Any], kwargs: dict[str, Any]) -> tuple[str, str]:
        """`_encode`, without building its error messages where nothing is wrong."""
        limit = self.app.settings.payload_limit
        args_json = encoding.quick(args, limit)
        kwargs_json = "{}" if not kwargs or args_json is None \
            else encoding.quick(kwargs, limit - len(args_json))
        if args_json is None or kwargs_json is None:  # refused, or too close to call
            return self._encode(args, kwargs)
        return args_json, kwargs_json

    def _encode(self, args: Sequence[Any], kwargs: dict[str, Any]) -> tuple[str, str]:
        limit = self.app.settings.payload_limit
        args_json = encoding.dumps(list(args), what=f"arguments of job {self.name!r}",
                                   limit=limit)
        kwargs_json = "{}" if not kwargs else encoding.dumps(
            kwargs, what=f"keyword arguments of job {self.name!r}", limit=limit - len(args_json))
        return args_json, kwargs_json

    def _shared_fields(self, opts: job_options.EnqueueOptions, now: datetime,
                       ) -> dict[str, Any]:
        """The fields of a row that come from the options, not from the call's arguments."""
        meta: dict[str, Any] = {}
        if opts.retry_until is not None:
            meta["retry_until"] = opts.retry_until.isoformat()
        if opts.timeout is not None:
            meta["timeout"] = opts.timeout
        return {
            "name": self.name, "queue": opts.queue or job_options.DEFAULT_QUEUE,
            "priority": opts.priority or 0,
            "max_attempts": opts.max_attempts or job_options.DEFAULT_MAX_ATTEMPTS,
            "run_at": opts.run_time(now),
            "meta_json": encoding.dumps(meta, what="options") if meta else "{}",
            "replace": opts.on_conflict == "replace", "depends_on": opts.depends_on or (),
            "run_on_dependency_failure": opts.on_dependency_failure == "run"}

    def check_arguments(self, args: Sequence[Any], kwargs: dict[str, Any]) -> None:
        """Raise `InvalidArguments` unless the call matches the function's signature."""
        arity = self._arity
        if not kwargs and arity is not None and arity[0] <= len(args) <= arity[1]:
            return
        arguments.bind(self.name, self.signature, args, kwargs)

    def s(self, *args: P.args, **kwargs: P.kwargs) -> Signature:
        """This job with these arguments, not yet enqueued (for batches, chains, callbacks).
        The arguments are checked now: a bad call fails before anything is written."""
        return Signature(self, self.new_job(args, dict(kwargs), self.defaults))

    # -- enqueueing with the type's own defaults ------------------------------------------

    def enqueue(self, *args: P.args, **kwargs: P.kwargs) -> model.Job:
        return _enqueue(self, self.defaults, None, args, kwargs)

    async def aenqueue(self, *args: P.args, **kwargs: P.kwargs) -> model.Job:
        """Concurrent callers on one event loop share a transaction (`groupcommit`)."""
        return await self.app.insert_one(self.new_job(args, kwargs, self.defaults), shared=True)

    def enqueue_many(self, calls: Iterable[ArgsPair]) -> enqueued.Enqueued:
        """Enqueue every call atomically (all or none). The result indexes like the list of
        jobs (built when read); `ids` and `duplicates` are there at once."""
        return Enqueuer(self, self.defaults).enqueue_many(calls)

    async def aenqueue_many(self, calls: Iterable[ArgsPair]) -> enqueued.Enqueued:
        return await Enqueuer(self, self.defaults).aenqueue_many(calls)


@dataclasses.dataclass(frozen=True, slots=True)
class Enqueuer(Generic[P, R]):
    """A job type with options fixed (`job.options(...)`); enqueues with them."""

    job_type: JobType[P, R]
    opts: job_options.EnqueueOptions
    connection: Any = None

    def options(self, **overrides: Any) -> Enqueuer[P, R]:
        merged = self.opts.merged(job_options.build(self.job_type.name, **overrides))
        return Enqueuer(self.job_type, merged, self.connection)

    def using(self, connection: Any) -> Enqueuer[P, R]:
        return Enqueuer(self.job_type, self.opts, connection)

    def s(self, *args: P.args, **kwargs: P.kwargs) -> Signature:
        return Signature(self.job_type, self.job_type.new_job(args, dict(kwargs), self.opts))

    def enqueue(self, *args: P.args, **kwargs: P.kwargs) -> model.Job:
        return _enqueue(self.job_type, self.opts, self.connection, args, kwargs)

    async def aenqueue(self, *args: P.args, **kwargs: P.kwargs) -> model.Job:
        """As `JobType.aenqueue`, except on a caller's own connection (`using`), whose
        transaction is the caller's."""
        if self.connection is not None:
            return (await self.aenqueue_many([(args, kwargs)]))[0]
        row = self.job_type.new_job(args, kwargs, self.opts)
        return await self.job_type.app.insert_one(row, shared=True)

    def enqueue_many(self, calls: Iterable[ArgsPair]) -> enqueued.Enqueued:
        return self._insert(self._rows(calls))

    def _insert(self, rows: Sequence[model.NewJob]) -> enqueued.Enqueued:
        app = self.job_type.app
        connection = self.connection if self.connection is not None \
            else app.ambient_connection()
        if connection is not None:
            return app.insert_on(connection, rows)
        return app.insert_blocking(rows)

    async def aenqueue_many(self, calls: Iterable[ArgsPair]) -> enqueued.Enqueued:
        rows, app = self._rows(calls), self.job_type.app
        if self.connection is not None:
            return await app.ainsert_on(self.connection, rows)
        return await app.insert(rows)

    def _rows(self, calls: Iterable[ArgsPair]) -> jobrows.JobRows:
        """Encode every call first: one bad call means nothing is written."""
        job_type = self.job_type
        return job_type.new_jobs(calls, self.opts, job_type.app.clock.now())


def _enqueue(job_type: JobType[Any, Any], opts: job_options.EnqueueOptions, connection: Any,
             args: Sequence[Any], kwargs: dict[str, Any]) -> model.Job:
    """One job, with `opts`, on `connection` (None: the app's own, or an ambient one)."""
    app = job_type.app
    now = app.clock.now()
    row = job_type.new_job(args, kwargs, opts, now)
    if connection is None and app.ambient_connection() is None:
        return app.insert_one_blocking(row, now)
    return Enqueuer(job_type, opts, connection)._insert([row])[0]


@dataclasses.dataclass(frozen=True, slots=True)
class Signature:
    """A job call waiting to be enqueued: `sync_product.s(1, shop_id=2)`. Its row is built
    (arguments checked and encoded) when the signature is made, once."""

    job_type: JobType[Any, Any]
    row: model.NewJob

    @property
    def name(self) -> str:
        return self.job_type.name

    def new_job(self, **fields: Any) -> model.NewJob:
        """The row to insert; `fields` set model fields such as `batch_id`."""
        return dataclasses.replace(self.row, **fields) if fields else self.row


def _positional_arity(signature: inspect.Signature) -> tuple[int, float] | None:
    """(required, most) positional arguments; None when keyword-only ones are required."""
    required, most = 0, 0.0
    for param in signature.parameters.values():
        if param.kind is param.VAR_POSITIONAL:
            most = float("inf")
        elif param.kind is param.KEYWORD_ONLY and param.default is param.empty:
            return None
        elif param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            required += param.default is param.empty
            most += 1
    return required, most


def _limit_fields(resolved: job_limits.ResolvedLimits | None) -> dict[str, Any]:
    if resolved is None:
        return {}
    keys = [list(pair) for pair in resolved.rate_keys]
    return {"rate_keys_json": encoding.dumps(keys, what="limit keys") if keys else None,
            "rate_key": keys[0][0] if keys else None,
            "concurrency_key": resolved.concurrency_key,
            "concurrency_limit": resolved.concurrency_limit, "cost": resolved.cost}


def _iterable(name: str, calls: Any) -> Iterable[Any]:
    if not isinstance(calls, Iterable):
        raise errors.InvalidArguments(
            f"enqueue_many for job {name!r} takes an iterable of (args, kwargs) pairs, "
            f"got {calls!r:.60}")
    return calls


def _pair(name: str, index: int, call: Any) -> ArgsPair:
    """Item `index` of an `enqueue_many` call as (args, kwargs), or `InvalidArguments`."""
    if not (isinstance(call, tuple | list) and len(call) == 2
            and isinstance(call[0], tuple | list) and isinstance(call[1], dict)):
        raise errors.InvalidArguments(
            f"enqueue_many for job {name!r}: item {index} must be (args, kwargs), "
            f"e.g. ((1, 2), {{}}); got {call!r:.80}"
        )
    return call[0], call[1]


class Registry:
    """The job types of one application, by name."""

    def __init__(self) -> None:
        self._types: dict[str, JobType[Any, Any]] = {}

    def add(self, job_type: JobType[Any, Any]) -> None:
        existing = self._types.get(job_type.name)
        if existing is not None and existing.func is not job_type.func:
            raise errors.ConfigurationError(
                f"job name {job_type.name!r} is already registered for {existing.func!r}"
            )
        self._types[job_type.name] = job_type

    def get(self, name: str) -> JobType[Any, Any]:
        try:
            return self._types[name]
        except KeyError:
            raise errors.UnknownJob(
                f"no job named {name!r} is registered; known: "
                f"{', '.join(sorted(self._types)[:20]) or 'none'}"
            ) from None

    def find(self, name: str) -> JobType[Any, Any] | None:
        return self._types.get(name)

    def names(self) -> list[str]:
        return sorted(self._types)

    def types(self) -> list[JobType[Any, Any]]:
        return list(self._types.values())

    def queues(self) -> list[str]:
        return sorted({t.defaults.queue or job_options.DEFAULT_QUEUE for t in self._types.values()})
