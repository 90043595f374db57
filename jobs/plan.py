"""Errors that end a job, and disabling a job when the plan lacks a feature."""

from __future__ import annotations

from collections.abc import Callable

import structlog

from jobs.base import JobContext
from zoom_auth import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    DailyLimitError,
    StopRequested,
    ZoomError,
)

log = structlog.get_logger(__name__)

# Errors that end a job rather than one resource: the daily quota is used up,
# the process is stopping, or the config or credentials must be fixed.
JOB_ENDING_ERRORS = (
    DailyLimitError,
    StopRequested,
    ConfigurationError,
    AuthenticationError,
)

# Zoom code 200 covers several rejections, which only the message distinguishes.
PLAN_CODE = 200
_PAID_ONLY_TEXT = "paid account"
# Zoom's OpenAPI file documents this one with code 400.
_DASHBOARD_TEXT = "enabled the dashboard feature"


def is_plan_restriction(error: ZoomError) -> bool:
    """Return whether Zoom rejected a request because the plan lacks the feature.

    That is code 200 "only available for paid account", or the message that
    the account has not enabled the Dashboard feature.
    """
    if not isinstance(error, APIError):
        return False
    message = error.zoom_message.lower()
    paid_only = error.code == PLAN_CODE and _PAID_ONLY_TEXT in message
    return paid_only or _DASHBOARD_TEXT in message


def disable_job(ctx: JobContext, reason: str) -> None:
    """Mark the job skipped for this run. The runner stores ``reason`` in ``_runs``."""
    ctx.result.skipped_reason = reason
    log.warning("job_disabled", reason=reason)


def run_plan_gated(
    ctx: JobContext, job: str, body: Callable[[JobContext], None]
) -> None:
    """Run a job's body, and disable the job when the plan lacks the feature.

    Rows committed before the rejection stay. Every other error propagates.
    """
    try:
        body(ctx)
    except APIError as exc:
        if not is_plan_restriction(exc):
            raise
        reason = (
            f"{exc.method} {exc.path} returned Zoom code {exc.code} "
            f"({exc.zoom_message.rstrip('.')}), so the account's plan does not "
            f"include it; upgrade the plan or set jobs.{job}.enabled to false"
        )
        disable_job(ctx, reason)


def fail_resource(ctx: JobContext, resource: str, error: ZoomError) -> None:
    """Record a failed resource, or re-raise a plan rejection to stop the job.

    Call it from an ``except`` block only.

    Raises:
        APIError: ``error`` means that the account's plan lacks the feature.
        TransientError: too many resources failed in a row.
    """
    if is_plan_restriction(error):
        raise error
    ctx.result.fail(resource, error)
