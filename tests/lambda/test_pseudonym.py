"""pseudonym(v) = lowercase hex of HMAC-SHA256(salt, v as UTF-8), with a bounded cache."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pseudonym import MAX_CACHED_VALUE_LENGTH, Pseudonymizer

from .conftest import SALT, reference_pseudonym

HEX64 = re.compile(r"[0-9a-f]{64}")

# Golden vectors, written down once from an HMAC-SHA256 computed outside this repository
# (RFC 4231 test case 2 and two values under the test salt); the reference HMAC re-checks them.
RFC_4231_KEY = b"Jefe"
RFC_4231_MESSAGE = "what do ya want for nothing?"
RFC_4231_DIGEST = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"


def test_rfc_4231_test_case_2() -> None:
    assert Pseudonymizer(RFC_4231_KEY)(RFC_4231_MESSAGE) == RFC_4231_DIGEST
    assert reference_pseudonym(RFC_4231_MESSAGE, RFC_4231_KEY) == RFC_4231_DIGEST


@pytest.mark.parametrize(
    "value",
    ["planted-user@example.org", "198.51.100.7", "5000007", "1.50", "\u00e9t\u00e9 \u2713", " "],
)
def test_golden_vectors_match_an_independent_hmac(value: str) -> None:
    pseudonym = Pseudonymizer(SALT)(value)
    assert pseudonym == reference_pseudonym(value)
    assert HEX64.fullmatch(pseudonym), "64 lowercase hex characters"


def test_deterministic_and_salt_dependent() -> None:
    first, again = Pseudonymizer(SALT), Pseudonymizer(SALT)
    assert first("value") == again("value") == first("value")
    assert Pseudonymizer(b"another salt")("value") != first("value")


@pytest.mark.parametrize("length", [1, 63, 64, 65, 200])
def test_salts_of_any_length_follow_rfc_2104(length: int) -> None:
    salt = bytes(range(1, 256))[:length]
    assert Pseudonymizer(salt)("x") == reference_pseudonym("x", salt)


def test_an_empty_salt_is_refused() -> None:
    with pytest.raises(ValueError, match="salt"):
        Pseudonymizer(b"")


def test_the_cache_is_bounded_and_keeps_results_right() -> None:
    pseudonymizer = Pseudonymizer(SALT, max_cache_entries=3)
    values = [f"value-{n}" for n in range(10)]
    for value in values * 2:
        assert pseudonymizer(value) == reference_pseudonym(value)
        assert len(pseudonymizer._cache) <= 3
    assert pseudonymizer.count == 20


def test_long_values_are_pseudonymized_but_not_remembered() -> None:
    pseudonymizer = Pseudonymizer(SALT)
    long_value = "x" * (MAX_CACHED_VALUE_LENGTH + 1)
    assert pseudonymizer(long_value) == reference_pseudonym(long_value)
    assert pseudonymizer("short") == reference_pseudonym("short")
    assert list(pseudonymizer._cache) == ["short"]


def test_replace_pseudonymizes_the_non_empty_values_at_the_indexes() -> None:
    pseudonymizer = Pseudonymizer(SALT)
    values = ["keep", "a", "", "b", "a"]
    pseudonymizer.replace(values, (1, 2, 3, 4))
    assert values == [
        "keep",
        reference_pseudonym("a"),
        "",
        reference_pseudonym("b"),
        reference_pseudonym("a"),
    ]
    assert pseudonymizer.count == 3


@settings(max_examples=200, deadline=None)
@given(salt=st.binary(min_size=1, max_size=150), value=st.text(max_size=300))
def test_equals_the_standard_library_hmac(salt: bytes, value: str) -> None:
    expected = hmac.new(salt, value.encode("utf-8"), hashlib.sha256).hexdigest()
    assert Pseudonymizer(salt)(value) == expected
