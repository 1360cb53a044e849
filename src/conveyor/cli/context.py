"""What every command needs: the application, loaded from `--app` or built from `--url`.

With both, `--url` given on the command line points the app at that database instead of its
own (run an app's commands against another database); `$CONVEYOR_URL` alone never overrides
an app, which reads it itself if it wants (`Conveyor()`)."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import os
import sys
from collections.abc import Iterator

import click

from conveyor import app as app_module
from conveyor import errors


@dataclasses.dataclass
class CliContext:
    app_spec: str | None
    url: str | None
    _app: app_module.Conveyor | None = None
    url_given: bool = False
    """`--url` was on the command line (not only in $CONVEYOR_URL): it overrides `--app`'s."""

    @property
    def names_app(self) -> bool:
        """An application was named (`--app`) or handed in, not only a database URL."""
        return bool(self.app_spec) or self._app is not None

    def app(self) -> app_module.Conveyor:
        if self._app is None:
            self._app = (load_app(self.app_spec) if self.app_spec
                         else _plain_app(self.url))
            if self.app_spec and self.url and self.url_given:
                try:
                    self._app.use_url(self.url)
                except errors.ConveyorError as exc:
                    raise click.BadParameter(str(exc), param_hint="--url") from None
        return self._app


def _plain_app(url: str | None) -> app_module.Conveyor:
    try:
        return app_module.Conveyor(url)
    except errors.ConveyorError as exc:
        raise click.ClickException(str(exc)) from None


def load_app(spec: str) -> app_module.Conveyor:
    """Import `module:attribute` (the current directory is importable, as with `python -m`)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise click.BadParameter(f"{spec!r} is not MODULE:ATTRIBUTE, e.g. shop.jobs:app",
                                 param_hint="--app")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise click.BadParameter(f"cannot import {module_name!r}: {exc}",
                                 param_hint="--app") from None
    if not hasattr(module, attribute):
        raise click.BadParameter(f"module {module_name!r} has no attribute {attribute!r}",
                                 param_hint="--app")
    found = getattr(module, attribute)
    if not isinstance(found, app_module.Conveyor):
        raise click.BadParameter(f"{spec!r} is a {type(found).__name__}, not a Conveyor "
                                 "application", param_hint="--app")
    return found


@contextlib.contextmanager
def failing_cleanly(obj: CliContext, *, read_only: bool = False
                    ) -> Iterator[app_module.Conveyor]:
    """Yield the app; Conveyor errors become a one-line message and exit status 1.
    `read_only` commands create nothing: a missing database or missing tables is an error
    (`NotMigrated`), not a reason to create them."""
    app = obj.app()
    if read_only:
        app.settings = dataclasses.replace(app.settings, auto_migrate=False)
    try:
        yield app
    except errors.ConveyorError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        app.close()
