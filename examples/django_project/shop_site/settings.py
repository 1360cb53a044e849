"""Settings of the example shop. The database comes from `$EXAMPLE_DATABASE_URL`
(`sqlite:////abs/path.db` or `postgresql://user@host:port/name`, default ./shop.sqlite3);
Conveyor keeps its jobs there too (no CONVEYOR["URL"])."""

import os
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("EXAMPLE_SECRET_KEY", "example-only-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "conveyor.contrib.django",
    "orders",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "shop_site.urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"


def _database(url: str) -> dict[str, object]:
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = "/" + parts.path.lstrip("/")
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": path,
                "TEST": {"NAME": path + "-test"},
                # One writer at a time: take the write lock when the transaction begins.
                "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20}}
    name = parts.path.lstrip("/")
    return {"ENGINE": "django.db.backends.postgresql", "NAME": name,
            "USER": parts.username or "", "PASSWORD": parts.password or "",
            "HOST": parts.hostname or "", "PORT": parts.port or "",
            "TEST": {"NAME": f"test_{name}"}}


DATABASES = {"default": _database(os.environ.get(
    "EXAMPLE_DATABASE_URL", f"sqlite:///{BASE_DIR / 'shop.sqlite3'}"))}
CONVEYOR = {"SETTINGS": {"lease_timeout": 120}}
