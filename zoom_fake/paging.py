"""Zoom-style pagination: page_size checks, envelopes and signed page tokens.

A next_page_token is stateless. It carries the offset of the next page and its
issue time, both masked, plus an HMAC over them and over the request it belongs
to (method, raw path and query parameters other than the token). A token replayed
with another query, forged, or older than the time to live is rejected with
Zoom's code 300.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import secrets
import struct
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from zoom_fake.base import ApiError

DEFAULT_PAGE_SIZE = 30
# Pagination fields of a list envelope; some routes send only a few of them.
PAGE_FIELDS = (
    "page_count", "page_number", "page_size", "total_records", "next_page_token",
)  # fmt: skip

_NONCE_SIZE = 6
_TAG_SIZE = 12
_PAYLOAD = struct.Struct(">Id")  # offset, issue time (seconds since the epoch)
_TOKEN_SIZE = _NONCE_SIZE + _PAYLOAD.size + _TAG_SIZE


def invalid_page_token() -> ApiError:
    """Return the error Zoom sends for a bad or expired next_page_token."""
    return ApiError(400, 300, "The next page token is invalid or expired.")


def validation_failed(field: str, message: str) -> ApiError:
    """Return Zoom's "Validation Failed." error naming one query field."""
    return ApiError(
        400, 300, "Validation Failed.", errors=[{"field": field, "message": message}]
    )


class PageTokens:
    """Issues and checks next_page_token values for one emulator instance.

    Args:
        clock: Wall clock in seconds since the epoch.
        ttl: Seconds a token stays valid.
        key: HMAC key; a random one by default, so tokens of one emulator are
            invalid on another.
    """

    def __init__(
        self, clock: Callable[[], float], ttl: float, key: bytes | None = None
    ) -> None:
        self._clock = clock
        self._ttl = ttl
        self._key = key if key is not None else secrets.token_bytes(32)

    def issue(self, binding: str, offset: int) -> str:
        """Return a token for the page at ``offset`` of the request ``binding``."""
        nonce = secrets.token_bytes(_NONCE_SIZE)
        payload = _PAYLOAD.pack(offset, self._clock())
        masked = _xor(payload, self._keystream(nonce))
        raw = nonce + masked + self._tag(nonce, masked, binding)
        return base64.urlsafe_b64encode(raw).decode("ascii")

    def offset(self, token: str, binding: str) -> int:
        """Return the offset a token names.

        Raises:
            ApiError: Code 300 when the token is malformed, belongs to another
                request or has expired.
        """
        standard = token.replace("-", "+").replace("_", "/")
        try:
            raw = base64.b64decode(standard.encode("ascii"), validate=True)
        except ValueError:
            raise invalid_page_token() from None
        if len(raw) != _TOKEN_SIZE:
            raise invalid_page_token()
        nonce = raw[:_NONCE_SIZE]
        masked = raw[_NONCE_SIZE:-_TAG_SIZE]
        if not hmac.compare_digest(raw[-_TAG_SIZE:], self._tag(nonce, masked, binding)):
            raise invalid_page_token()
        offset, issued_at = _PAYLOAD.unpack(_xor(masked, self._keystream(nonce)))
        if self._clock() >= issued_at + self._ttl:
            raise invalid_page_token()
        return offset

    def _keystream(self, nonce: bytes) -> bytes:
        return hmac.new(self._key, b"mask" + nonce, hashlib.sha256).digest()

    def _tag(self, nonce: bytes, masked: bytes, binding: str) -> bytes:
        message = b"tag" + nonce + masked + binding.encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).digest()[:_TAG_SIZE]


def _xor(data: bytes, stream: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, stream, strict=False))


def parse_page_size(query: Mapping[str, str], maximum: int) -> int:
    """Return the request's page_size, or the default of 30 when absent.

    Raises:
        ApiError: Code 300 "Validation Failed." for a value that is not an
            integer from 1 to ``maximum``.
    """
    text = query.get("page_size")
    if text is None or text == "":
        return DEFAULT_PAGE_SIZE
    try:
        size = int(text)
    except ValueError:
        raise validation_failed("page_size", "must be an integer") from None
    if size < 1:
        raise validation_failed("page_size", "must be greater than or equal to 1")
    if size > maximum:
        message = f"must be less than or equal to {maximum}"
        raise validation_failed("page_size", message)
    return size


@dataclass(frozen=True)
class Page:
    """The page a list request names, and how to sign the token of the next one.

    Attributes:
        offset: Index of the first record of this page.
        size: Records per page.
        binding: The request identity a next_page_token is bound to.
        tokens: Issuer of next_page_token values.
    """

    offset: int
    size: int
    binding: str
    tokens: PageTokens

    def envelope(
        self,
        key: str,
        total: int,
        fetch: Callable[[int, int], list[Any]],
        *,
        fields: Collection[str] = PAGE_FIELDS,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Build Zoom's list envelope around one page of records.

        Args:
            key: Name of the list field, such as "users".
            total: Number of records across all pages.
            fetch: Returns the records from a start index up to a stop index;
                it is called only for this page, so records are built lazily.
            fields: The pagination fields the route's envelope has.
            extra: Fields that go before the pagination fields, such as the
                "from" and "to" of a report.

        Returns:
            The response body with ``extra``, the pagination ``fields`` among
            page_count, page_number, page_size, total_records and
            next_page_token ("" on the last page), and the list.
        """
        stop = min(self.offset + self.size, total)
        records = fetch(self.offset, stop) if self.offset < total else []
        next_token = self.tokens.issue(self.binding, stop) if stop < total else ""
        paging = {
            "page_count": math.ceil(total / self.size),
            "page_number": self.offset // self.size + 1,
            "page_size": self.size,
            "total_records": total,
            "next_page_token": next_token,
        }
        body = dict(extra or {})
        body.update((name, value) for name, value in paging.items() if name in fields)
        body[key] = records
        return body


def binding_for(method: str, path: str, query: Mapping[str, str]) -> str:
    """Return the identity of a list request that its page tokens are bound to.

    Args:
        method: HTTP method.
        path: Raw request path.
        query: Effective query parameters: defaults applied, page_size
            normalised, next_page_token left out.
    """
    return json.dumps([method, path, sorted(query.items())])
