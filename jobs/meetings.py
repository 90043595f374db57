"""The ``meetings`` job: every user's scheduled meetings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jobs import store
from jobs.base import JobContext
from jobs.fanout import Emit, fan_out, skip_or_fail
from jobs.sync import without_passcodes
from jobs.users import fetch_users
from zoom_auth import ZoomSession
from zoom_auth.endpoints import endpoint

# Pending users cannot host, so only these are asked for meetings.
HOST_STATUSES = ("active", "inactive")


def fetch_user_ids(session: ZoomSession) -> list[str]:
    """Return the IDs of every active and inactive user."""
    ids: list[str] = []
    for status in HOST_STATUSES:
        for records in fetch_users(session, status):
            ids.extend(r["id"] for r in records if r.get("id"))
    return ids


def fetch_meetings(
    session: ZoomSession, user_id: str
) -> Iterator[list[dict[str, Any]]]:
    """Yield pages of one user's scheduled meetings."""
    pages = session.paginate(
        "/users/{userId}/meetings", "meetings", {"type": "scheduled"}, userId=user_id
    )
    for page in pages:
        yield page.records


def meeting_row(record: dict[str, Any], user_id: str) -> dict[str, Any]:
    """Turn an API meeting record into a row, with ``host_id`` always set."""
    row = without_passcodes(record)
    row["host_id"] = record.get("host_id") or user_id
    return row


def meetings(ctx: JobContext) -> None:
    """Save the scheduled meetings of every active and inactive user.

    Users are read on the fan-out pool. A user who may not host (Zoom code
    3161) or who vanished since the listing (code 1001) is skipped and
    counted. A user whose meetings still fail after retries, or fail with an
    error Zoom does not document for this endpoint, is recorded as a failure
    and the job moves on, which makes the run partial. A used-up daily limit,
    missing scopes, a rejected token or a run of consecutive failures ends the
    job.
    """

    def fetch(user_id: str, emit: Emit) -> None:
        for records in fetch_meetings(ctx.session, user_id):
            rows = [meeting_row(r, user_id) for r in records]
            emit(store.upsert_step("meetings", rows, pk="id"))

    fan_out(
        ctx,
        fetch_user_ids(ctx.session),
        fetch,
        category=endpoint("/users/{userId}/meetings").category,
        on_error=skip_or_fail(ctx, lambda user_id: f"users/{user_id}/meetings"),
    )
