"""The SQLite schema, as an ordered list of sqlite-utils migrations.

Each table is created with its primary key, the columns whose type must not be
guessed from the first value, and its foreign keys. Columns for any other API
field are added by the upserts themselves. A schema change is a new migration
appended here, never an edit of an applied one.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

migrations = Migrations("zoom-etl")

# Column types of users and pending users. ``pmi`` can exceed 32 bits, which
# SQLite INTEGER stores as a 64-bit value.
_USER_COLUMNS = {
    "id": str,
    "email": str,
    "first_name": str,
    "last_name": str,
    "display_name": str,
    "type": int,
    "status": str,
    "pmi": int,
    "timezone": str,
    "role_id": str,
    "created_at": str,
    "user_created_at": str,
    "last_login_time": str,
}


@migrations()
def create_runs(db: Database) -> None:
    """Create ``_runs``: one row per job run, written at its start and end."""
    db["_runs"].create(
        {
            "run_id": str,
            "job": str,
            "started_at": str,
            "finished_at": str,
            "status": str,
            "rows": int,
            "requests": int,
            "skips": int,
            "error": str,
        },
        pk="run_id",
    )
    db["_runs"].create_index(["job", "started_at"])


@migrations()
def create_users(db: Database) -> None:
    """Create ``users`` (keyed by ID) and ``pending_users`` (keyed by email)."""
    db["users"].create(_USER_COLUMNS, pk="id")
    db["users"].create_index(["email"])
    pending = {k: v for k, v in _USER_COLUMNS.items() if k != "id"}
    db["pending_users"].create(pending, pk="email")


@migrations()
def create_meetings(db: Database) -> None:
    """Create ``meetings``: one row per meeting ID, so a recurring series is one row."""
    db["meetings"].create(
        {
            "id": int,
            "uuid": str,
            "host_id": str,
            "topic": str,
            "type": int,
            "start_time": str,
            "duration": int,
            "timezone": str,
            "created_at": str,
            "join_url": str,
            "pmi": int,
        },
        pk="id",
        foreign_keys=[("host_id", "users", "id")],
    )
    db["meetings"].create_index(["host_id"])
    db["meetings"].create_index(["start_time"])


@migrations()
def create_schedule(db: Database) -> None:
    """Create ``_schedule``: the daemon's schedule of each job and its next run."""
    db["_schedule"].create(
        {
            "job": str,
            "schedule": str,
            "next_run_at": str,
            "updated_at": str,
            "pid": int,
        },
        pk="job",
    )


@migrations()
def create_state(db: Database) -> None:
    """Create ``_state``: incremental cursors by job and partition."""
    db["_state"].create(
        {"job": str, "partition": str, "cursor": str, "updated_at": str},
        pk=("job", "partition"),
    )


@migrations()
def create_meeting_instances(db: Database) -> None:
    """Create ``meeting_instances``, ``participants`` and the ``attendance`` view."""
    db["meeting_instances"].create(
        {
            "uuid": str,
            "id": int,
            "host_id": str,
            "topic": str,
            "type": int,
            "start_time": str,
            "end_time": str,
            "duration": int,
            "participants_count": int,
        },
        pk="uuid",
        foreign_keys=[("id", "meetings", "id"), ("host_id", "users", "id")],
    )
    for column in ("id", "host_id", "start_time", "end_time"):
        db["meeting_instances"].create_index([column])
    db["participants"].create(
        {
            "meeting_uuid": str,
            "participant_key": str,
            "join_time": str,
            "id": str,
            "user_id": str,
            "name": str,
            "user_email": str,
            "leave_time": str,
            "duration": int,
        },
        pk=("meeting_uuid", "participant_key", "join_time"),
        foreign_keys=[("meeting_uuid", "meeting_instances", "uuid")],
    )
    db["participants"].create_index(["meeting_uuid"])
    db["participants"].create_index(["join_time"])
    db["_participants_fetched"].create(
        {"meeting_uuid": str, "fetched_at": str}, pk="meeting_uuid"
    )
    # A person is their Zoom user ID, else their email, else the name shown.
    db.create_view(
        "attendance",
        """
        select
            meeting_uuid,
            coalesce(nullif(id, ''), nullif(user_email, ''), name) as person,
            max(name) as name,
            max(user_email) as user_email,
            count(*) as joins,
            sum(duration) as total_seconds,
            min(join_time) as first_join,
            max(leave_time) as last_leave
        from participants
        group by meeting_uuid, person
        """,
    )


@migrations()
def create_webinars(db: Database) -> None:
    """Create ``webinars``, ``webinar_instances`` and ``webinar_participants``."""
    db["webinars"].create(
        {
            "id": int,
            "uuid": str,
            "host_id": str,
            "topic": str,
            "type": int,
            "start_time": str,
            "duration": int,
            "timezone": str,
            "created_at": str,
            "join_url": str,
            "agenda": str,
        },
        pk="id",
        foreign_keys=[("host_id", "users", "id")],
    )
    db["webinars"].create_index(["host_id"])
    db["webinars"].create_index(["start_time"])
    db["webinar_instances"].create(
        {"uuid": str, "webinar_id": int, "start_time": str},
        pk="uuid",
        foreign_keys=[("webinar_id", "webinars", "id")],
    )
    db["webinar_instances"].create_index(["webinar_id"])
    db["webinar_instances"].create_index(["start_time"])
    db["webinar_participants"].create(
        {
            "webinar_uuid": str,
            "participant_key": str,
            "join_time": str,
            "id": str,
            "user_id": str,
            "name": str,
            "user_email": str,
            "leave_time": str,
            "duration": int,
        },
        pk=("webinar_uuid", "participant_key", "join_time"),
        foreign_keys=[("webinar_uuid", "webinar_instances", "uuid")],
    )
    db["webinar_participants"].create_index(["webinar_uuid"])
    db["webinar_participants"].create_index(["join_time"])
    db["_webinar_participants_fetched"].create(
        {"webinar_uuid": str, "fetched_at": str}, pk="webinar_uuid"
    )


@migrations()
def create_recordings(db: Database) -> None:
    """Create ``recordings`` (one per meeting instance) and ``recording_files``."""
    db["recordings"].create(
        {
            "uuid": str,
            "id": int,
            "account_id": str,
            "host_id": str,
            "topic": str,
            "type": str,
            "start_time": str,
            "duration": int,
            "total_size": int,
            "recording_count": int,
        },
        pk="uuid",
        foreign_keys=[("host_id", "users", "id")],
    )
    for column in ("id", "host_id", "start_time"):
        db["recordings"].create_index([column])
    db["recording_files"].create(
        {
            "id": str,
            "recording_uuid": str,
            "meeting_id": str,
            "recording_start": str,
            "recording_end": str,
            "file_type": str,
            "file_extension": str,
            "file_size": int,
            "recording_type": str,
            "status": str,
        },
        pk="id",
        foreign_keys=[("recording_uuid", "recordings", "uuid")],
    )
    db["recording_files"].create_index(["recording_uuid"])
    db["recording_files"].create_index(["recording_start"])


@migrations()
def create_daily_usage(db: Database) -> None:
    """Create ``daily_usage``: the account's usage report, one row per date."""
    db["daily_usage"].create(
        {
            "date": str,
            "new_users": int,
            "meetings": int,
            "participants": int,
            "meeting_minutes": int,
        },
        pk="date",
    )


@migrations()
def create_audit_logs(db: Database) -> None:
    """Create ``activity_logs`` and ``operation_logs``, keyed by hash and occurrence."""
    db["activity_logs"].create(
        {
            "record_hash": str,
            "occurrence": int,
            "time": str,
            "email": str,
            "type": str,
            "ip_address": str,
            "client_type": str,
            "version": str,
        },
        pk=("record_hash", "occurrence"),
    )
    db["activity_logs"].create_index(["time"])
    db["activity_logs"].create_index(["email"])
    db["operation_logs"].create(
        {
            "record_hash": str,
            "occurrence": int,
            "time": str,
            "operator": str,
            "category_type": str,
            "action": str,
            "operation_detail": str,
        },
        pk=("record_hash", "occurrence"),
    )
    db["operation_logs"].create_index(["time"])
    db["operation_logs"].create_index(["operator"])


@migrations()
def create_groups(db: Database) -> None:
    """Create ``groups`` and ``group_members``, keyed by group and user ID."""
    db["groups"].create({"id": str, "name": str, "total_members": int}, pk="id")
    db["group_members"].create(
        {
            "group_id": str,
            "id": str,
            "email": str,
            "first_name": str,
            "last_name": str,
            "type": int,
        },
        pk=("group_id", "id"),
        foreign_keys=[("group_id", "groups", "id"), ("id", "users", "id")],
    )
    db["group_members"].create_index(["group_id"])
    db["group_members"].create_index(["id"])


@migrations()
def create_rate_limits(db: Database) -> None:
    """Create ``_rate_limits``: requests sent per UTC day and rate-limit category.

    ``remaining`` is the daily count Zoom last reported left, and
    ``exhausted_until`` the time before which no request of the category is
    sent, after Zoom reported its daily limit used up.
    """
    db["_rate_limits"].create(
        {
            "day": str,
            "category": str,
            "requests": int,
            "remaining": int,
            "exhausted_until": str,
        },
        pk=("day", "category"),
    )


def apply(db: Database) -> None:
    """Bring a database's schema up to date; does nothing when it is current."""
    migrations.apply(db)
