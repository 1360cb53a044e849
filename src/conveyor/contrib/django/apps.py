"""The Django app: checks `settings.CONVEYOR` at start and imports every installed app's job
module (`jobs.py`, or `CONVEYOR["JOBS_MODULE"]`), so a worker knows every job by name."""

from __future__ import annotations

import importlib

from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class ConveyorConfig(AppConfig):
    name = "conveyor.contrib.django"
    label = "conveyor"
    verbose_name = "Conveyor"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from conveyor.contrib.django import application

        app = application.project_app()  # a wrong CONVEYOR setting stops the start here
        autodiscover_modules(app.project.jobs_module)
        for module in app.project.job_modules:
            importlib.import_module(module)
