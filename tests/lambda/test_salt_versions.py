"""Salt versions: the version chosen per arrival time at the boundaries, and the secret's rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from errors import SaltUnavailableError
from hypothesis import given
from hypothesis import strategies as st
from salt_versions import (
    ALWAYS_MS,
    SaltVersions,
    format_ms,
    parse_salt_secret,
    parse_timestamp,
)

SECRET = "snowplow/pseudonymization-salt"
SALT_1 = "salt of version one, 32 bytes or more: 0b7f"
SALT_2 = "salt of version two, 32 bytes or more: 91c4"
SALT_3 = "salt of version three, 32 bytes or more: 5e2a"
JAN_1_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
MAR_1_MS = 1_803_859_200_000  # 2027-03-01T00:00:00Z


def versioned(*versions: tuple[str, str, str]) -> str:
    return json.dumps(
        {"versions": [{"id": i, "salt": s, "active_from": a} for i, s, a in versions]}
    )


TWO = versioned(
    ("1", SALT_1, "2026-01-01T00:00:00Z"),
    ("2", SALT_2, "2027-03-01T00:00:00Z"),
)


def chosen(secret: str, arrival_ms: int) -> str:
    return parse_salt_secret(secret, SECRET).for_arrival(arrival_ms, 1).id


def test_the_timestamps_of_the_tests_are_right() -> None:
    assert datetime.fromtimestamp(JAN_1_MS / 1000, UTC).isoformat() == ("2026-01-01T00:00:00+00:00")
    assert parse_timestamp("2027-03-01T00:00:00Z", "here") == MAR_1_MS


def test_a_plain_string_is_version_0_for_every_record() -> None:
    versions = parse_salt_secret(SALT_1, SECRET)
    assert versions.always
    for arrival in (0, -1, JAN_1_MS, 2**62):
        version = versions.for_arrival(arrival, 1)
        assert (version.id, version.salt) == ("0", SALT_1.encode())


@pytest.mark.parametrize(
    ("arrival", "expected"),
    [
        (MAR_1_MS - 1, "1"),  # one millisecond before the activation
        (MAR_1_MS, "2"),  # at it exactly
        (MAR_1_MS + 1, "2"),  # after it
        (JAN_1_MS, "1"),  # the first version, at its own activation
        (JAN_1_MS + 1, "1"),
        (2**62, "2"),  # long after the last one
    ],
)
def test_the_latest_version_at_or_before_the_arrival(arrival: int, expected: str) -> None:
    assert chosen(TWO, arrival) == expected


def test_the_order_of_the_versions_in_the_secret_does_not_matter() -> None:
    reversed_order = versioned(
        ("2", SALT_2, "2027-03-01T00:00:00Z"),
        ("1", SALT_1, "2026-01-01T00:00:00Z"),
    )
    for arrival in (JAN_1_MS, MAR_1_MS - 1, MAR_1_MS):
        assert chosen(reversed_order, arrival) == chosen(TWO, arrival)


def test_several_versions() -> None:
    secret = versioned(
        ("a", SALT_1, "2026-01-01T00:00:00Z"),
        ("b", SALT_2, "2026-06-01T12:00:00Z"),
        ("c", SALT_3, "2026-06-01T12:00:00.001Z"),
    )
    june = parse_timestamp("2026-06-01T12:00:00Z", "here")
    assert [chosen(secret, t) for t in (june - 1, june, june + 1, june + 2)] == ["a", "b", "c", "c"]
    versions = parse_salt_secret(secret, SECRET)
    assert [v.salt for v in versions.versions] == [s.encode() for s in (SALT_1, SALT_2, SALT_3)]


def test_a_sub_millisecond_activation_applies_from_the_next_millisecond() -> None:
    secret = versioned(
        ("1", SALT_1, "2026-01-01T00:00:00Z"),
        ("2", SALT_2, "2027-03-01T00:00:00.000500Z"),
    )
    assert chosen(secret, MAR_1_MS) == "1", "arrived half a millisecond before"
    assert chosen(secret, MAR_1_MS + 1) == "2"


@pytest.mark.parametrize("arrival", [JAN_1_MS - 1, 0, -5])
def test_a_record_older_than_every_version_fails_closed(arrival: int) -> None:
    versions = parse_salt_secret(TWO, SECRET)
    with pytest.raises(SaltUnavailableError, match="before the first version") as raised:
        versions.for_arrival(arrival, 7)
    message = str(raised.value)
    assert "Record number 7" in message and SECRET in message
    assert SALT_1 not in message and SALT_2 not in message


@given(
    starts=st.lists(st.integers(0, 2**45), min_size=1, max_size=6, unique=True),
    arrival=st.integers(-(2**45), 2**46),
)
def test_the_choice_equals_the_definition(starts: list[int], arrival: int) -> None:
    """The version is the one whose active_from is the latest at or before the arrival."""
    secret = versioned(
        *((str(n), f"{n:02d}" * 16, format_ms(start)) for n, start in enumerate(starts))
    )
    versions = parse_salt_secret(secret, SECRET)
    eligible = [(start, n) for n, start in enumerate(starts) if start <= arrival]
    if not eligible:
        with pytest.raises(SaltUnavailableError):
            versions.for_arrival(arrival, 1)
    else:
        assert versions.for_arrival(arrival, 1).id == str(max(eligible)[1])


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("{not json", "not valid JSON"),
        ("  {}", 'single key "versions"'),
        (json.dumps({"versions": [], "x": 1}), 'single key "versions"'),
        (json.dumps({"versions": []}), "non-empty list"),
        (json.dumps({"versions": "1"}), "non-empty list"),
        (json.dumps({"versions": ["1"]}), "Version number 1 .* exactly the keys"),
        (
            json.dumps({"versions": [{"id": "1", "salt": SALT_1}]}),
            "Version number 1 .* exactly the keys",
        ),
        (
            json.dumps({"versions": [{"id": "1", "salt": SALT_1, "active_from": "x", "note": ""}]}),
            "exactly the keys",
        ),
        (versioned(("", SALT_1, "2026-01-01T00:00:00Z")), '"id" must be'),
        (versioned(("a/b", SALT_1, "2026-01-01T00:00:00Z")), '"id" must be'),
        (versioned(("1", SALT_1, "2026-01-01")), '"active_from" must be a UTC time'),
        (versioned(("1", SALT_1, "2026-01-01T00:00:00+01:00")), '"active_from" must be'),
        (versioned(("1", SALT_1, "2026-02-30T00:00:00Z")), "not a valid date"),
        (
            versioned(("1", SALT_1, "2026-01-01T00:00:00Z"), ("1", SALT_2, "2027-01-01T00:00:00Z")),
            "same id '1'",
        ),
        (
            versioned(("1", SALT_1, "2026-01-01T00:00:00Z"), ("2", SALT_2, "2026-01-01T00:00:00Z")),
            "same active_from 2026-01-01T00:00:00.000Z",
        ),
        (
            versioned(("1", SALT_1, "2026-01-01T00:00:00Z"), ("2", SALT_1, "2027-01-01T00:00:00Z")),
            "same salt \\(version '2'",
        ),
        (versioned(("7", "short", "2026-01-01T00:00:00Z")), "\\(id '7'\\) holds a salt shorter"),
        (versioned(("7", " " * 40, "2026-01-01T00:00:00Z")), "\\(id '7'\\) holds a salt made only"),
    ],
)
def test_an_unusable_secret_is_refused_whole(secret: str, message: str) -> None:
    with pytest.raises(SaltUnavailableError, match=message) as raised:
        parse_salt_secret(secret, SECRET)
    assert SECRET in str(raised.value)
    assert SALT_1 not in str(raised.value) and SALT_2 not in str(raised.value)


def test_a_non_string_salt_is_refused() -> None:
    secret = json.dumps(
        {"versions": [{"id": "1", "salt": 12, "active_from": "2026-01-01T00:00:00Z"}]}
    )
    with pytest.raises(SaltUnavailableError, match='"salt" must be a string'):
        parse_salt_secret(secret, SECRET)


def test_a_version_never_shows_its_salt() -> None:
    versions = parse_salt_secret(TWO, SECRET)
    assert SALT_1 not in repr(versions.versions) and SALT_2 not in repr(versions.versions)


def test_format_ms() -> None:
    assert format_ms(MAR_1_MS + 7) == "2027-03-01T00:00:00.007Z"
    assert format_ms(ALWAYS_MS) == "always"
    assert parse_timestamp(format_ms(MAR_1_MS + 7), "here") == MAR_1_MS + 7


def test_an_empty_list_of_versions_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="at least one version"):
        SaltVersions([], SECRET)
