# enqueue.py - what a web handler or script does: enqueue, go on at once.
from shop_jobs import app, charge_card, send_follow_up, send_receipt

job = send_receipt.enqueue(1001, "ann@example.com")
print(f"enqueued job {job.id}: {job.name} in queue {job.queue}, {job.state}")

send_follow_up.options(delay=2).enqueue("ann@example.com")  # due in 2 s
charge_card.enqueue(1002, 4_999)
charge_card.enqueue(1003, 250_000)  # fails 3 times: ends discarded
app.close()
