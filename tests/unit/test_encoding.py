from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
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


class Colour(enum.Enum):
    RED = "red"


class Size(enum.IntEnum):
    BIG = 2


class Label(str):
    pass


@pytest.mark.parametrize(("value", "kind", "hint"), [
    (uuid.UUID(int=1), "a uuid.UUID", "str(value)"),
    (Colour.RED, "a tests.unit.test_encoding.Colour", "its .value"),
    (Size.BIG, "a tests.unit.test_encoding.Size", "its .value"),
    (Label("x"), "a tests.unit.test_encoding.Label (a subclass of str)", ""),
    (datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC), "a datetime.datetime",
     "value.isoformat()"),
    (decimal.Decimal("1.5"), "a decimal.Decimal", "str(value)"),
    (Point(1), "a tests.unit.test_encoding.Point", "dataclasses.asdict(value)"),
    ({1, 2}, "a set", "sorted(value)"),
])
def test_one_rule_for_every_non_json_type_with_path_and_type(value: Any, kind: str,
                                                            hint: str) -> None:
    """UUIDs and enums used to be stored as text or numbers while datetimes and Decimals
    were refused: now every non-JSON type is refused alike, naming where it is."""
    payload = [1, {"order": {"items": [0, value]}}]
    with pytest.raises(errors.Unserializable) as caught:
        encoding.dumps(payload, what="arguments of job 'j'")
    message = str(caught.value)
    assert message.startswith(
        f"arguments of job 'j' cannot be stored as JSON: [1]['order']['items'][1] is {kind}; "
        "only JSON types are stored"), message
    assert (f"e.g. {hint}" in message) if hint else "convert it" not in message


@pytest.mark.parametrize(("value", "fragment"), [
    ({"a": [math.nan]}, "['a'][0] is nan; NaN and infinity"),
    ([{"k": 1}, {2: "x"}], "[1] has the key 2 (int); JSON object keys are str"),
    ([[2**64]], "[0][0] is an integer beyond 64 bits"),
    (uuid.UUID(int=2), "the value is a uuid.UUID"),
])
def test_the_path_is_named(value: Any, fragment: str) -> None:
    with pytest.raises(errors.Unserializable) as caught:
        encoding.dumps(value, what="result")
    assert fragment in str(caught.value)


def test_a_value_that_contains_itself_is_refused_not_looped_over() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(errors.Unserializable, match="nested more than 250 levels"):
        encoding.dumps(loop, what="x")
    deep: Any = "leaf"
    for _ in range(200):
        deep = [deep]
    assert encoding.loads(encoding.dumps(deep, what="x")) == deep


def test_exact_check_agrees_with_the_diagnosis() -> None:
    from conveyor import jsoncheck

    samples: list[Any] = [[1, "a", None, True, 1.5], {"a": {"b": [1, (2, 3)]}}, [math.nan],
                          [uuid.UUID(int=3)], {"k": Colour.RED}, [Label("x")], {1: 2},
                          [[[{}]]], (), [2**63 - 1, -(2**63)], [math.inf, 1]]
    for sample in samples:
        assert jsoncheck.is_exact(sample) == (jsoncheck.problem(sample) is None), sample


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


@pytest.mark.parametrize("value", [
    "a\x00b", {"key\x00": 1}, [["deep", {"k": "\x00"}]], "\\\x00", ["\\", "\x00"],
])
def test_strings_holding_nul_are_refused_on_every_backend(value: Any) -> None:
    with pytest.raises(errors.Unserializable, match=r"NUL character \(\\x00\)"):
        encoding.dumps(value, what="x")


@pytest.mark.parametrize("value", ["x\\u0000", {"\\u0000": "\\\\u0000"}])
def test_an_escaped_backslash_before_u0000_is_not_a_nul(value: Any) -> None:
    assert encoding.loads(encoding.dumps(value, what="x")) == value
