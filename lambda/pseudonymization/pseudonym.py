"""pseudonym(v) = lowercase hex of HMAC-SHA256(key = salt, message = v as UTF-8), cached."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

DEFAULT_CACHE_ENTRIES = 32_768
#: Longer values are pseudonymized but not remembered, so the cache stays under about 40 MB.
MAX_CACHED_VALUE_LENGTH = 1024


class Pseudonymizer:
    """Computes pseudonyms with one salt, remembering recent ones.

    HMAC-SHA256 is computed as RFC 2104 defines it, from two SHA-256 states that already hold the
    key (the inner and outer padded keys): each value costs two ``copy()`` calls and two updates,
    not a new HMAC object (the tests check it against ``hmac`` itself). Pseudonyms are cached in a
    dict that is emptied when it reaches ``max_cache_entries``, which bounds the memory (about
    250 bytes an entry, values longer than MAX_CACHED_VALUE_LENGTH are not kept) without the
    bookkeeping of an LRU: the events of one user repeat the same values. A new salt needs a new
    Pseudonymizer.
    """

    __slots__ = ("_cache", "_inner", "_max_entries", "_outer", "count")

    def __init__(self, salt: bytes, max_cache_entries: int = DEFAULT_CACHE_ENTRIES) -> None:
        if not salt:
            raise ValueError("The salt must not be empty.")
        self._inner, self._outer = _keyed_states(salt)
        self._cache: dict[str, str] = {}
        self._max_entries = max_cache_entries
        #: Values pseudonymized so far, from the cache or not (for the metrics).
        self.count = 0

    def __call__(self, value: str) -> str:
        """Return the pseudonym of ``value`` (a str, or the literal text of a JSON number)."""
        self.count += 1
        pseudonym = self._cache.get(value)
        return self._compute(value) if pseudonym is None else pseudonym

    def replace(self, values: list[str], indexes: Sequence[int]) -> None:
        """Replace each non-empty ``values[i]`` by its pseudonym, for ``i`` in ``indexes``.

        The same as calling the instance for each value, without a call per value: this is the
        loop over the atomic fields of every enriched event.
        """
        cached = self._cache.get
        count = 0
        for index in indexes:
            value = values[index]
            if value:
                pseudonym = cached(value)
                values[index] = self._compute(value) if pseudonym is None else pseudonym
                count += 1
        self.count += count

    def _compute(self, value: str) -> str:
        inner = self._inner.copy()
        inner.update(value.encode("utf-8"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        pseudonym = outer.hexdigest()
        if len(value) <= MAX_CACHED_VALUE_LENGTH:
            if len(self._cache) >= self._max_entries:
                self._cache.clear()
            self._cache[value] = pseudonym
        return pseudonym


def _keyed_states(key: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    """SHA-256 states after the inner (key XOR 0x36...) and outer (key XOR 0x5c...) key blocks."""
    block = hashlib.sha256().block_size
    if len(key) > block:
        key = hashlib.sha256(key).digest()
    key = key.ljust(block, b"\0")
    inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in key))
    outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in key))
    return inner, outer
