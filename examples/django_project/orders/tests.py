"""Run by Django's test runner (`python manage.py test`), on SQLite or PostgreSQL.

TransactionTestCase: the views commit for real, as in production, and Conveyor reads and
runs jobs on connections of its own, which see committed rows only.
"""

import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client, TransactionTestCase
from starlette.testclient import TestClient

from conveyor import FrozenClock, JobFilter, JobState, changes, testing
from conveyor.contrib.django import app
from orders.jobs import ship_order
from orders.models import Order

PROJECT = Path(__file__).resolve().parents[1]


class ConveyorTestCase(TransactionTestCase):
    def setUp(self) -> None:
        attached = testing.attach(app, clock=FrozenClock(testing.START))
        attached.__enter__()
        self.addCleanup(attached.__exit__, None, None, None)
        app.admin.apply(changes.DeleteJobs(), JobFilter(), actor="tests")


class OrderViewTests(ConveyorTestCase):
    def test_the_job_is_enqueued_with_the_order_and_ships_it(self) -> None:
        response = Client().post("/orders", {"email": "ann@example.com"})
        self.assertEqual(response.status_code, 201)
        order = Order.objects.get()
        testing.assert_enqueued(ship_order, args=[order.id], queue="shipping")
        self.assertEqual(testing.drain(app), 1)
        order.refresh_from_db()
        self.assertTrue(order.shipped)

    def test_a_rolled_back_view_enqueues_nothing(self) -> None:
        client = Client(raise_request_exception=False)
        response = client.post("/orders", {"email": "bob@example.com", "fail": "1"})
        self.assertEqual(response.status_code, 500)
        self.assertFalse(Order.objects.exists())
        testing.assert_not_enqueued(ship_order)

    def test_using_djangos_connection_explicitly(self) -> None:
        with self.assertRaises(RuntimeError), transaction.atomic():
            ship_order.using(connection).enqueue(41)
            raise RuntimeError("rolled back")
        with transaction.atomic():
            ship_order.using(connection).enqueue(42)
        testing.assert_enqueued(ship_order, args=[42], count=1)
        with self.assertRaisesMessage(Exception, "only inside transaction.atomic()"):
            ship_order.using(connection).enqueue(43)


class CommandTests(ConveyorTestCase):
    def test_manage_py_conveyor_passes_through_to_the_cli(self) -> None:
        ship_order.enqueue(7)
        out = io.StringIO()
        with redirect_stdout(out):
            call_command("conveyor", "jobs", "list", "--json")
        listed = json.loads(out.getvalue())
        self.assertEqual([(j["name"], j["state"]) for j in listed],
                         [("orders.jobs.ship_order", "available")])
        with redirect_stdout(io.StringIO()):
            call_command("conveyor", "check")  # exit 0: the code knows every waiting job

    def test_a_worker_started_by_manage_py_runs_the_job(self) -> None:
        order = Order.objects.create(email="cy@example.com")
        ship_order.enqueue(order.id)
        env = {**os.environ, "EXAMPLE_DATABASE_URL": _url_of_test_database()}
        done = subprocess.run([sys.executable, "manage.py", "conveyor", "worker", "--burst"],
                              cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        order.refresh_from_db()
        self.assertTrue(order.shipped)
        testing.assert_enqueued(ship_order, args=[order.id], states=[JobState.COMPLETED])


class DashboardTests(ConveyorTestCase):
    def test_staff_see_the_dashboard_others_do_not(self) -> None:
        from shop_site.asgi import application

        User.objects.create_user("ann", password="pw-ann-123", is_staff=True)
        User.objects.create_user("bob", password="pw-bob-123")
        with TestClient(application) as web:
            self.assertEqual(web.get("/admin/jobs/").status_code, 401)
            for name, expected in (("ann", 200), ("bob", 401)):
                django_client = Client()
                self.assertTrue(django_client.login(username=name, password=f"pw-{name}-123"))
                web.cookies.set("sessionid", django_client.cookies["sessionid"].value)
                page = web.get("/admin/jobs/")
                self.assertEqual(page.status_code, expected, name)
                if expected == 200:
                    self.assertIn("Overview", page.text)
                    self.assertIn("ann", page.text)  # the Django user is the dashboard's


def _url_of_test_database() -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    return (f"postgresql://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/"
            f"{settings['NAME']}")
