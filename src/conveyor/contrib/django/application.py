"""The project's Conveyor application: configured from settings, on Django's database.

Two things differ from a plain `Conveyor`:

- Its URL is read from Django's database settings whenever it is needed (unless
  `CONVEYOR["URL"]` fixes it), so under Django's test runner it follows the test database.
- Enqueueing while Django's connection to that database is inside `transaction.atomic()`
  inserts the jobs on that connection, in that transaction (no `on_commit` hook: the rows are
  part of the transaction). Rolled back, they never existed; committed, workers see them
  together with the view's own rows. Outside an atomic block, jobs are inserted on the app's
  own connection and committed at once. `job.using(connection).enqueue(...)` does the same
  explicitly, for any alias.

Plain `def` jobs run by a worker start and end with `django.db.close_old_connections()`, as
Django does around a request, so a worker thread never keeps a broken or expired connection.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from django.conf import settings as django_settings
from django.db import close_old_connections, connections

from conveyor import context, registry
from conveyor.app import Conveyor
from conveyor.contrib.django import config

P = ParamSpec("P")
R = TypeVar("R")


class DjangoConveyor(Conveyor):
    """A `Conveyor` whose database is a Django database (see the module docstring)."""

    def __init__(self, project: config.ProjectConfig) -> None:
        self.project = project
        self._fixed_url: str | None = project.url
        super().__init__(project.url or "sqlite:///.conveyor-unconfigured.db",
                         settings=project.settings)
        self._fixed_url = project.url  # __init__ assigned a placeholder to `url`

    @property
    def url(self) -> str:
        """`CONVEYOR["URL"]` (or a URL set with `use_url`), else the Django database's."""
        if self._fixed_url is not None:
            return self._fixed_url
        alias = self.project.database
        return config.url_of(alias, connections[alias].settings_dict)

    @url.setter
    def url(self, value: str) -> None:
        self._fixed_url = value

    @property
    def joins_transactions(self) -> bool:
        """Whether enqueue inside an atomic block of the jobs' Django database goes on its
        connection: `TRANSACTIONAL` is on and the jobs live in that database (no `URL`)."""
        return self.project.transactional and self._fixed_url is None

    def ambient_connection(self) -> Any:
        """Django's connection to the jobs' database when this thread is inside one of its
        atomic blocks (and `TRANSACTIONAL` is on): the enqueue joins that transaction."""
        if not self.joins_transactions:
            return None
        wrapper = connections[self.project.database]
        return wrapper if wrapper.in_atomic_block else None

    def _register(self, func: Callable[P, R], config: dict[str, Any]) -> registry.JobType[P, R]:
        is_async: bool = inspect.iscoroutinefunction(func)  # (async jobs use the ORM's a-API)
        return super()._register(func if is_async else _fresh_connections(func), config)


@functools.cache
def project_app() -> DjangoConveyor:
    """The project's application (one per process), built from `settings.CONVEYOR`."""
    return DjangoConveyor(config.ProjectConfig.of(getattr(django_settings, "CONVEYOR", None)))


def _fresh_connections(func: Callable[P, R]) -> Callable[P, R]:
    """Around a run by a worker (not a direct call), drop Django connections that are broken
    or past `CONN_MAX_AGE`, as Django does around each request."""

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            context.current_job()
        except LookupError:  # called directly, not run by a worker
            return func(*args, **kwargs)
        close_old_connections()
        try:
            return func(*args, **kwargs)
        finally:
            close_old_connections()

    return run

