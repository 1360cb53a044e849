"""`manage.py migrate` creates (and later upgrades) Conveyor's tables in the database its jobs
live in, with Conveyor's own numbered migrations: Django's test runner builds them in the
test database too. Not atomic: Conveyor migrates on a connection of its own."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def conveyor_tables(apps: Any, schema_editor: Any) -> None:
    from conveyor.contrib.django import application

    app = application.project_app()
    if app.project.url is None and schema_editor.connection.alias != app.project.database:
        return  # the jobs live in another of the project's databases
    app.migrate()
    app.close()


class Migration(migrations.Migration):
    atomic = False
    dependencies = []
    operations = [migrations.RunPython(conveyor_tables, migrations.RunPython.noop,
                                       elidable=False)]
