"""The ``groups`` job: the account's groups and who belongs to each.

Both listings are read in full on every run. A group's members are replaced
in one transaction, so a user who left the group loses the row. A group that
Zoom no longer lists keeps its ``groups`` row but loses its members.
"""

from __future__ import annotations

from typing import Any

from jobs import store
from jobs.base import JobContext
from jobs.plan import JOB_ENDING_ERRORS, fail_resource, run_plan_gated
from zoom_auth import APIError, SkippableError, TransientError, ZoomSession

GROUPS_JOB = "groups"

# Primary key of ``group_members``.
MEMBER_KEY = ("group_id", "id")

# 404 code 4130: "A group with this {groupId} does not exist."
GROUP_NOT_FOUND_CODE = 4130


def fetch_groups(session: ZoomSession) -> list[dict[str, Any]]:
    """Return every group of the account."""
    groups: list[dict[str, Any]] = []
    for page in session.paginate("/groups", "groups"):
        groups.extend(page.records)
    return groups


def fetch_members(session: ZoomSession, group_id: str) -> list[dict[str, Any]]:
    """Return every member of one group."""
    members: list[dict[str, Any]] = []
    pages = session.paginate("/groups/{groupId}/members", "members", groupId=group_id)
    for page in pages:
        members.extend(page.records)
    return members


def member_row(record: dict[str, Any], group_id: str) -> dict[str, Any]:
    """Turn a member record into a ``group_members`` row; ``id`` is the user ID."""
    return {**record, "group_id": group_id}


def replace_members(
    ctx: JobContext, group_id: str, records: list[dict[str, Any]]
) -> int:
    """Replace one group's members in one transaction.

    Returns:
        The number of rows written.
    """
    rows = [member_row(r, group_id) for r in records if r.get("id")]
    with store.transaction(ctx.db):
        ctx.db.execute("delete from group_members where group_id = ?", [group_id])
        if rows:
            ctx.db["group_members"].upsert_all(rows, pk=MEMBER_KEY, alter=True)
    return len(rows)


def groups(ctx: JobContext) -> None:
    """Save every group and replace each group's members.

    A group deleted between the two listings (Zoom code 4130) is skipped and
    loses its members.
    """
    run_plan_gated(ctx, GROUPS_JOB, _sync_groups)


def _sync_groups(ctx: JobContext) -> None:
    listed = [g for g in fetch_groups(ctx.session) if g.get("id")]
    ctx.result.rows += store.upsert(ctx.db, "groups", listed, pk="id")
    for group in listed:
        group_id = group["id"]
        resource = f"groups/{group_id}/members"
        try:
            members = fetch_members(ctx.session, group_id)
        except SkippableError as exc:
            ctx.result.skip(resource, exc)
            continue
        except JOB_ENDING_ERRORS:
            raise
        except (TransientError, APIError) as exc:
            if isinstance(exc, APIError) and exc.code == GROUP_NOT_FOUND_CODE:
                # The group was deleted after the listing, so it has no members.
                ctx.result.skip(resource, exc)
                replace_members(ctx, group_id, [])
            else:
                fail_resource(ctx, resource, exc)
            continue
        ctx.result.succeed()
        ctx.result.rows += replace_members(ctx, group_id, members)
    _drop_unlisted_members(ctx, {g["id"] for g in listed})


def _drop_unlisted_members(ctx: JobContext, listed: set[str]) -> None:
    """Delete the memberships of groups that Zoom no longer lists."""
    stored = {
        row[0] for row in ctx.db.execute("select distinct group_id from group_members")
    }
    unlisted = sorted(stored - listed)
    if not unlisted:
        return
    marks = ", ".join("?" for _ in unlisted)
    with store.transaction(ctx.db):
        sql = f"delete from group_members where group_id in ({marks})"
        ctx.db.execute(sql, unlisted)
