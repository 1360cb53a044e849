"""ASGI entry point: the shop, with Conveyor's dashboard at /admin/jobs for staff users.

    uvicorn shop_site.asgi:application
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop_site.settings")
django_app = get_asgi_application()

from conveyor.contrib.django.asgi import with_dashboard  # noqa: E402  (after Django is set up)

application = with_dashboard(django_app, path="/admin/jobs")
