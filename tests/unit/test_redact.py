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


def test_free_text_loses_url_passwords_and_secret_pairs() -> None:
    cases = {
        f"connect to postgresql://shop:{SENTINEL}@db:5432/jobs failed":
            "connect to postgresql://shop:***@db:5432/jobs failed",
        f"GET /v1?access_token={SENTINEL}&page=2 -> 401": "GET /v1?access_token=***&page=2 -> 401",
        f'{{"api_key": "{SENTINEL}", "shop": 3}}': '{"api_key": "***", "shop": 3}',
        f"Authorization: Bearer {SENTINEL}": "Authorization: ***",
        f"login refused (password={SENTINEL})": "login refused (password=***)",
        "the password is wrong; try again": "the password is wrong; try again",
    }
    for given, shown in cases.items():
        assert redact.text(given) == shown
