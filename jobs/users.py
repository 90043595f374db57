"""The ``users_me`` and ``users`` jobs: the app owner and the user directory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jobs import store
from jobs.base import JobContext
from jobs.sync import without_passcodes
from zoom_auth import SkippableError, ZoomSession

# Zoom's GET /users returns only active users unless asked for another status.
USER_STATUSES = ("active", "inactive", "pending")


def fetch_me(session: ZoomSession) -> dict[str, Any]:
    """Return the user that owns the Server-to-Server OAuth app."""
    return session.get("/users/{userId}", userId="me")


def fetch_users(session: ZoomSession, status: str) -> Iterator[list[dict[str, Any]]]:
    """Yield pages of users with one status: active, inactive or pending."""
    for page in session.paginate("/users", "users", {"status": status}):
        yield page.records


def user_row(record: dict[str, Any]) -> dict[str, Any]:
    """Turn an API user record into a row; every field is kept but passcodes."""
    return without_passcodes(record)


def users_me(ctx: JobContext) -> None:
    """Save the app owner into ``users``.

    Zoom does not document ``me`` for Server-to-Server apps; when it returns
    "user not found" the job is skipped with a warning rather than failed.
    """
    try:
        record = fetch_me(ctx.session)
    except SkippableError as exc:
        ctx.result.skipped_reason = str(exc)
        ctx.result.skip("users/me", exc)
        return
    ctx.result.rows += store.upsert(ctx.db, "users", [user_row(record)], pk="id")


def users(ctx: JobContext) -> None:
    """Save every user: active and inactive into ``users``, pending by email.

    Pending users have no ID yet, so they go to ``pending_users`` keyed by email.
    """
    for status in USER_STATUSES:
        table, pk = (
            ("pending_users", "email") if status == "pending" else ("users", "id")
        )
        for records in fetch_users(ctx.session, status):
            rows = [user_row(r) for r in records]
            ctx.result.rows += store.upsert(ctx.db, table, rows, pk=pk)
