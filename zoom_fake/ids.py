"""Deterministic draws and the codecs behind generated ids, UUIDs and timestamps.

Every generated value comes from a :class:`Draw` keyed by the account seed and
the record's position, so records can be rebuilt on request. Meeting ids and
UUIDs encode their position and decode back without a table.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import struct
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TypeVar

_T = TypeVar("_T")


class Draw:
    """Deterministic draws from a key, stable across Python versions.

    Only ``random.Random.random()`` is used: Python keeps its sequence for a
    given string seed stable between versions, unlike ``choice`` or ``randint``.
    """

    def __init__(self, *key: object) -> None:
        self._random = random.Random(":".join(str(part) for part in key))

    def below(self, limit: int) -> int:
        return int(self._random.random() * limit)

    def between(self, low: int, high: int) -> int:
        return low + self.below(high - low + 1)

    def pick(self, items: Sequence[_T]) -> _T:
        return items[self.below(len(items))]

    def chance(self, probability: float) -> bool:
        return self._random.random() < probability


class AffineCodec:
    """A bijection from ``0..size-1`` onto ``low..low+size-1`` that looks random.

    ``size`` must be ``2**a * 5**b``: every odd multiplier not divisible by 5 is
    then invertible modulo ``size``.
    """

    def __init__(self, low: int, size: int, key: bytes) -> None:
        multiplier = int.from_bytes(key[:8], "big") % size | 1
        while multiplier % 5 == 0:
            multiplier += 2
        self._low = low
        self._size = size
        self._multiplier = multiplier
        self._inverse = pow(multiplier, -1, size)
        self._shift = int.from_bytes(key[8:16], "big") % size

    def encode(self, number: int) -> int:
        return self._low + (self._multiplier * number + self._shift) % self._size

    def decode(self, value: int) -> int | None:
        if not self._low <= value < self._low + self._size:
            return None
        return (value - self._low - self._shift) * self._inverse % self._size


class UuidCodec:
    """Encodes (meeting number, instance) as a 24-character base64 meeting UUID.

    The 16 bytes are an 8-byte keyed tag of the location followed by the location
    masked with a keystream derived from the tag, so a UUID decodes back without
    a table and a made-up UUID fails the tag check.
    """

    def __init__(self, key: bytes) -> None:
        self._key = key

    def encode(self, number: int, instance: int) -> str:
        location = struct.pack(">IHH", number, instance, 0)
        tag = self._tag(location)
        masked = bytes(a ^ b for a, b in zip(location, self._mask(tag), strict=True))
        return base64.b64encode(tag + masked).decode("ascii")

    def decode(self, uuid: str) -> tuple[int, int] | None:
        raw = _uuid_bytes(uuid)
        if raw is None:
            return None
        tag, masked = raw[:8], raw[8:]
        location = bytes(a ^ b for a, b in zip(masked, self._mask(tag), strict=True))
        if not hmac.compare_digest(tag, self._tag(location)):
            return None
        number, instance, _ = struct.unpack(">IHH", location)
        return number, instance

    def _tag(self, location: bytes) -> bytes:
        return hashlib.blake2b(
            location, key=self._key, person=b"uuid-tag", digest_size=8
        ).digest()

    def _mask(self, tag: bytes) -> bytes:
        return hashlib.blake2b(
            tag, key=self._key, person=b"uuid-mask", digest_size=8
        ).digest()


def _uuid_bytes(uuid: str) -> bytes | None:
    if len(uuid) != 24 or not uuid.endswith("=="):
        return None
    try:
        raw = base64.b64decode(uuid, validate=True)
    except ValueError:
        return None
    return raw if len(raw) == 16 else None


def _char_top_bit(position: int) -> int:
    """Return the highest bit of base64 character ``position`` of a 128-bit value."""
    return 1 << (127 - 6 * position)


def _char_mask(position: int) -> int:
    """Return the six bits of base64 character ``position`` of a 128-bit value."""
    return 0b111111 << (122 - 6 * position)


def shape_uuid(uuid: str, form: str) -> str:
    """Force a UUID into one of the forms of Zoom's double-encoding rule.

    Args:
        uuid: A UUID from UuidCodec.
        form: "leading_slash" (starts with "/"), "double_slash" (contains "//"
            but does not start with "/") or "plain" (neither).

    Returns:
        The reshaped UUID, still 16 bytes of base64.
    """
    value = int.from_bytes(base64.b64decode(uuid), "big")
    if form == "leading_slash":
        value |= _char_mask(0)
    elif form == "double_slash":
        value |= _char_mask(10) | _char_mask(11)
    # Clearing a character's top bit turns a "/" (63) into another character and
    # never creates a new "/", so this loop ends after at most 22 passes.
    while True:
        text = base64.b64encode(value.to_bytes(16, "big")).decode("ascii")
        if form != "leading_slash" and text.startswith("/"):
            value &= ~_char_top_bit(0)
        elif form == "plain" and "//" in text:
            value &= ~_char_top_bit(text.index("//") + 1)
        else:
            return text


def opaque_id(key: bytes, kind: bytes, index: int) -> str:
    """Return a 22-character id in Zoom's style, e.g. "KDcuGIm1QgePTO8WbOqwIQ"."""
    digest = hashlib.blake2b(
        index.to_bytes(8, "big"), key=key, person=kind, digest_size=16
    ).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def subkey(key: bytes, purpose: bytes) -> bytes:
    """Derive the key of one codec or id family from the account key."""
    return hashlib.blake2b(purpose, key=key, digest_size=32).digest()


def timestamp(moment: datetime) -> str:
    """Format an aware datetime as Zoom does: ISO 8601 in UTC with a "Z"."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
