"""Conveyor in a Django project.

    # settings.py
    INSTALLED_APPS = [..., "conveyor.contrib.django"]
    CONVEYOR = {}                     # optional: "DATABASE", "URL", "SETTINGS", ... (see config)

    # <any installed app>/jobs.py     (discovered when Django starts)
    from conveyor.contrib.django import app

    @app.job()
    def send_welcome(user_id: int) -> None: ...

    # a view
    with transaction.atomic():
        user = User.objects.create(...)
        send_welcome.enqueue(user.id)  # on Django's own connection: rolled back, never enqueued

The jobs live in the project's own database (`DATABASES["default"]`, or the alias `DATABASE`
names) unless `URL` points elsewhere; `manage.py migrate` creates their tables. Workers run with
`manage.py conveyor worker` (every `conveyor` command is there, with this project's app).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conveyor.contrib.django.application import DjangoConveyor


def __getattr__(name: str) -> DjangoConveyor:
    """`app`: the project's Conveyor application, built from settings on first use."""
    if name == "app":
        from conveyor.contrib.django import application

        return application.project_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
