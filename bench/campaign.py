"""A broadcast campaign against the WhatsApp sandbox at a configured rate per number.

    python -m bench.campaign --backends sqlite,postgres --rates 500,1000 --recipients 100000

For each backend and rate: a fresh database; the sandbox as a process of its own
(`conveyor commerce sandbox whatsapp`), the campaign's number allowing exactly the configured
rate (more in any second is a 130429) and a second number; worker processes (`conveyor
worker`). A separate enqueuer process writes nothing but the campaign: it streams a CSV of
N recipients into it and starts it (its peak RSS is the enqueuer's figure). Once the campaign
is sending, a single message is scheduled on the other number, 1 s ahead: how late it leaves
is the fairness figure. Measured where Meta would measure it, the sandbox's log: the achieved
rate from the first to the last accepted campaign send, its share of the configured rate
(the kit paces at 1/1.02 of it), the busiest 1-second window, 130429s, the workers' peak RSS
(VmHWM).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench import databases, workers
from bench.messages import busiest_window
from conveyor import Conveyor
from conveyor_commerce import Commerce, CommerceSettings, MessageStatus, Template
from conveyor_commerce.vault import Secret
from conveyor_commerce.whatsapp import client

NUMBER, OTHER, TOKEN = "106540352242922", "206540352242922", "bench-token"
SETTINGS = CommerceSettings(min_lead=0, http_timeout=10.0)


@dataclasses.dataclass(frozen=True, slots=True)
class Figures:
    backend: str
    rate: float
    recipients: int
    achieved: float
    busiest: int
    throttled: int
    enqueue_seconds: float
    enqueuer_mb: float
    worker_mb: float
    fairness_ms: float
    ceiling: float
    """Sends/s a bare client (50 at a time, no database, no pacing) got from the same sandbox
    just before the campaign: what this machine allows at the moment."""
    outcome: str

    def row(self) -> str:
        return (f"{self.backend:9s} {self.rate:>6g}/s {self.recipients:>8d} "
                f"{self.achieved:>9.1f}/s {self.achieved / self.rate:>7.1%} {self.busiest:>7d} "
                f"{self.throttled:>7d} {self.enqueue_seconds:>8.1f} s {self.enqueuer_mb:>8.0f} MB "
                f"{self.worker_mb:>8.0f} MB {self.fairness_ms:>8.0f} ms {self.ceiling:>7.0f}/s  "
                f"{self.outcome}")


HEADER = (f"{'backend':9s} {'rate':>8s} {'recips':>8s} {'achieved':>11s} {'of rate':>7s} "
          f"{'busiest':>7s} {'130429':>7s} {'enqueue':>10s} {'enq RSS':>11s} "
          f"{'wrk RSS':>11s} {'single':>11s} {'bare':>9s}  outcome")


def enqueue(url: str, csv_path: str) -> None:
    """The enqueuer process: stream the CSV into a campaign and start it; print figures."""
    kit = Commerce(Conveyor(url), settings=SETTINGS)
    started = time.monotonic()
    campaign = kit.campaigns.create("bench", "bench", Template("hello_world", "en_US"),
                                    csv_path)
    print(json.dumps({"campaign_id": campaign.id, "pending": campaign.pending,
                      "seconds": time.monotonic() - started,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def run(url: str, backend: str, rate: float, recipients: int, processes: int,
        concurrency: int) -> Figures:
    kit = Commerce(Conveyor(url), settings=SETTINGS)
    kit.migrate()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "conveyor", "commerce", "sandbox", "whatsapp", "--port",
         str(port), "--token", TOKEN, "--number", f"{NUMBER}:{int(rate)}", "--number",
         f"{OTHER}:80"], cwd=workers.ROOT, env=workers.environment(url),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "recipients.csv"
        _write_csv(csv_path, recipients)
        try:
            _wait_http(base)
            bare = asyncio.run(_ceiling(base, 500))
            refused_before = httpx.get(f"{base}/_sandbox/refused", timeout=10).json()
            kit.accounts.add("bench", NUMBER, TOKEN, base_url=base, send_rate=rate,
                             throughput=int(rate))
            kit.accounts.add("other", OTHER, TOKEN, base_url=base, send_rate=10)
            command = [sys.executable, "-m", "conveyor", "--app", "bench.campaign_app:app",
                       "worker", "--queues", "whatsapp", "--concurrency", str(concurrency)]
            procs = workers.start(command, url, processes)
            warm = kit.messages.schedule("other", "48700000000", "warm-up", offset=0)
            _until(lambda: kit.messages.get(warm.id).status == MessageStatus.SENT, 60)
            made = subprocess.run([sys.executable, "-m", "bench.campaign", "--enqueue", url,
                                   str(csv_path)], cwd=workers.ROOT,
                                  env=workers.environment(url), capture_output=True,
                                  text=True, check=True)
            enqueued = json.loads(made.stdout.strip().splitlines()[-1])
            campaign_id = int(enqueued["campaign_id"])
            _until(lambda: kit.campaigns.get(campaign_id).sent >= min(200, recipients // 5),
                   600)
            single = kit.messages.schedule("other", "48700000001", "fairness", offset=1.0)
            peaks = [0] * len(procs)
            deadline = time.monotonic() + max(600.0, recipients / rate * 20)
            while kit.campaigns.get(campaign_id).summary is None:
                if time.monotonic() > deadline:
                    raise SystemExit(f"campaign still {kit.campaigns.get(campaign_id)}")
                peaks = [max(p, _hwm_kb(proc.pid)) for p, proc in zip(peaks, procs,
                                                                    strict=True)]
                time.sleep(0.5)
            peaks = [max(p, _hwm_kb(proc.pid)) for p, proc in zip(peaks, procs, strict=True)]
            campaign = kit.campaigns.get(campaign_id)
            log = httpx.get(f"{base}/_sandbox/sent", timeout=120).json()
            refused = httpx.get(f"{base}/_sandbox/refused", timeout=10).json()
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=60)
            sandbox.terminate()
            sandbox.wait(timeout=30)
    sent = [r["at"] for r in log if r["phone_number_id"] == NUMBER]
    [single_at] = [r["at"] for r in log if r["to"].lstrip("+") == "48700000001"
                   and r["phone_number_id"] == OTHER]
    span = max(sent) - min(sent)
    throttled = campaign.summary.get("failures_by_code", {}) if campaign.summary else {}
    kit.close()
    kit.app.close()
    return Figures(backend, rate, recipients, (len(sent) - 1) / span if span else 0.0,
                   busiest_window(sent),
                   int(refused.get("130429", 0)) - int(refused_before.get("130429", 0)),
                   float(enqueued["seconds"]),
                   float(enqueued["peak_mb"]), max(peaks) / 1024,
                   (single_at - single.scheduled_at.timestamp()) * 1000, bare,
                   f"{campaign.status.value}: sent {campaign.sent}, failed {campaign.failed}"
                   f"{' ' + json.dumps(throttled) if throttled else ''}")


async def _ceiling(base: str, count: int) -> float:
    """Sends/s of a bare client, 50 requests at a time, to the other number (refusals past
    its 80/s count too: they cost the same round trip); its log is left out of every
    figure."""
    endpoint = client.Endpoint(base, "v23.0", OTHER, Secret(TOKEN))
    gate = asyncio.Semaphore(50)
    async with httpx.AsyncClient(timeout=client.timeouts(30.0),
                                 limits=httpx.Limits(max_connections=60)) as http:
        async def one(i: int) -> None:
            async with gate:
                with contextlib.suppress(client.SendFailure):  # 130429 past 80/s: counted
                    await client.send(http, endpoint, f"48701{i:06d}",
                                      Template("hello_world", "en_US"))

        started = time.monotonic()
        await asyncio.gather(*(one(i) for i in range(count)))
    return count / (time.monotonic() - started)


def _hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return 0


def enqueue_only(url: str, backend: str, recipients: int) -> str:
    """Only the enqueuer's part at full size: stream N recipients from a CSV into a campaign
    and start it (N / chunk_size chunk jobs in one batch), no worker running."""
    kit = Commerce(Conveyor(url), settings=SETTINGS)
    kit.migrate()
    kit.accounts.add("bench", NUMBER, TOKEN, base_url="http://127.0.0.1:9", send_rate=500,
                     throughput=500)
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "recipients.csv"
        _write_csv(csv_path, recipients)
        made = subprocess.run([sys.executable, "-m", "bench.campaign", "--enqueue", url,
                               str(csv_path)], cwd=workers.ROOT, env=workers.environment(url),
                              capture_output=True, text=True, check=True)
    enqueued = json.loads(made.stdout.strip().splitlines()[-1])
    campaign = kit.campaigns.get(int(enqueued["campaign_id"]))
    batch = kit.app.get_batch(campaign.batch_id or 0)
    kit.close()
    kit.app.close()
    return (f"{backend:9s} enqueue only: {recipients} recipients -> {campaign.pending} "
            f"pending in {batch.progress.total} chunk jobs, {enqueued['seconds']:.1f} s "
            f"({recipients / enqueued['seconds']:.0f} recipients/s), enqueuer peak RSS "
            f"{enqueued['peak_mb']:.0f} MB")


def _write_csv(path: Path, recipients: int) -> None:
    with path.open("w") as out:
        out.write("phone\n")
        out.writelines(f"+48 6{i // 1_000_000:02d} {i % 1_000_000:06d}\n"
                       for i in range(recipients))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/_sandbox/sent", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("the sandbox did not start")


def _until(check: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting")
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--rates", default="500,1000", help="Configured rates, messages/s.")
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--pg-server", default=databases.PG_SERVER)
    parser.add_argument("--enqueue-only", action="store_true",
                        help="Only stream the recipients into a started campaign (no worker): "
                        "the enqueuer's time and peak RSS at full size.")
    parser.add_argument("--enqueue", nargs=2, metavar=("URL", "CSV"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.enqueue:
        enqueue(*args.enqueue)
        return
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load {os.getloadavg()[0]:.1f}")
    if args.enqueue_only:
        for backend in args.backends.split(","):
            with databases.temporary(backend, args.pg_server) as url:
                print(enqueue_only(url, backend, args.recipients), flush=True)
        return
    print(HEADER)
    for backend in args.backends.split(","):
        for rate in (float(r) for r in args.rates.split(",")):
            with databases.temporary(backend, args.pg_server) as url:
                print(run(url, backend, rate, args.recipients, args.processes,
                          args.concurrency).row(), flush=True)


if __name__ == "__main__":
    main()
