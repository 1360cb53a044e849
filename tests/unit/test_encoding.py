from __future__ import annotations

import dataclasses
import datetime
import decimal
import math
import uuid
from typing import Any

import pytest

from conveyor import encoding, errors


@pytest.mark.parametrize("value", [
    [1, "two", 3.5, None, True, {"nested": [1, {"k": "v"}]}], {"a": None}, [], "", 0,
    [2**63 - 1], [-(2**63)],
])
def test_json_values_round_trip(value: Any) -> None:
    assert encoding.loads(encoding.dumps(value, what="x")) == value


def test_tuples_become_lists() -> None:
    assert encoding.loads(encoding.dumps((1, (2, 3)), what="x")) == [1, [2, 3]]


@dataclasses.dataclass
class Point:
    x: int


@pytest.mark.parametrize("value", [
    {1, 2}, frozenset(), object(), b"bytes", decimal.Decimal("1.5"),
    datetime.datetime.now(datetime.UTC), datetime.date.today(), Point(1), {1: "int key"},
    [math.nan], {"x": math.inf}, [[-math.inf]], 2**64, complex(1, 2),
])
def test_non_json_values_are_refused(value: Any) -> None:
    with pytest.raises(errors.Unserializable, match="arguments of job 'j' cannot be stored"):
        encoding.dumps([value], what="arguments of job 'j'")


def test_uuids_are_stored_as_their_text() -> None:
    value = uuid.uuid4()
    assert encoding.loads(encoding.dumps([value], what="x")) == [str(value)]


def test_none_alone_is_fine_even_though_nan_becomes_null() -> None:
    assert encoding.dumps([None, {"a": None}], what="x") == '[null,{"a":null}]'


def test_size_limit_names_size_and_limit() -> None:
    with pytest.raises(errors.PayloadTooLarge, match="12 bytes as JSON, over the limit of 10"):
        encoding.dumps("0123456789", what="x", limit=10)
    assert encoding.dumps("01234567", what="x", limit=10) == '"01234567"'


def test_undecodable_text_is_a_malformed_job() -> None:
    with pytest.raises(errors.MalformedJob):
        encoding.loads("{not json")
    assert encoding.loads(None) is None


def test_no_pickle_anywhere_in_the_package() -> None:
    from pathlib import Path

    import conveyor

    root = Path(conveyor.__file__).parent
    for path in root.rglob("*.py"):
        text = path.read_text()
        assert "import pickle" not in text and "cloudpickle" not in text, path
