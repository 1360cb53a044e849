from __future__ import annotations

from conveyor import redact

SENTINEL = "EAAG-sentinel-token-5f1d"


def test_secret_keys_are_masked_at_any_depth() -> None:
    data = {"to": "+48600000000", "access_token": SENTINEL,
            "nested": [{"Authorization": f"Bearer {SENTINEL}", "ok": 1}],
            "shop": {"api_key": SENTINEL, "password": SENTINEL, "name": "demo"}}
    masked = redact.value(data)
    assert SENTINEL not in repr(masked)
    assert masked["to"] == "+48600000000" and masked["shop"]["name"] == "demo"
    assert masked["nested"][0] == {"Authorization": "***", "ok": 1}


def test_url_passwords_are_masked() -> None:
    assert redact.url(f"postgresql://shop:{SENTINEL}@db:5432/jobs") == \
        "postgresql://shop:***@db:5432/jobs"
    assert redact.url("sqlite:///jobs.db") == "sqlite:///jobs.db"
