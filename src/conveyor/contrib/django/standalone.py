"""The project's application for the `conveyor` command run outside `manage.py`:

    export DJANGO_SETTINGS_MODULE=mysite.settings
    conveyor --app conveyor.contrib.django.standalone:app worker

Importing this module sets Django up (settings, installed apps, their job modules) if nothing
has yet. `manage.py conveyor ...` starts its worker processes this way.
"""

from __future__ import annotations

import django
from django.apps import apps

if not apps.ready:
    django.setup()

from conveyor.contrib.django import application  # after setup

app = application.project_app()
