"""Discovered when Django starts (every installed app's jobs.py)."""

from conveyor.contrib.django import app
from orders.models import Order


@app.job(queue="shipping", max_attempts=5)
def ship_order(order_id: int) -> str:
    Order.objects.filter(id=order_id).update(shipped=True)
    return f"order {order_id} shipped"
