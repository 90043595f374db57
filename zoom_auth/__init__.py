"""Talking to Zoom: S2S OAuth tokens, bearer auth, the API session, errors.

This package does not touch SQLite or scheduling.
"""

from zoom_auth.auth import ZoomAuth
from zoom_auth.daily import DailyQuota
from zoom_auth.endpoints import ENDPOINTS, Endpoint, encode_uuid, format_path
from zoom_auth.errors import (
    APIError,
    AuthenticationError,
    BudgetReached,
    CannotHostError,
    ConfigurationError,
    DailyLimitError,
    MissingScopesError,
    NotFoundError,
    ServerError,
    SkippableError,
    StopRequested,
    TokenRejectedError,
    TransientError,
    ZoomError,
)
from zoom_auth.pacing import PLAN_LIMITS, Pacer, TokenBucket
from zoom_auth.retry import Backoff
from zoom_auth.session import Page, PaginationError, ZoomSession
from zoom_auth.token import DEFAULT_TOKEN_URL, Token, TokenProvider

__all__ = [
    "APIError",
    "AuthenticationError",
    "Backoff",
    "BudgetReached",
    "CannotHostError",
    "ConfigurationError",
    "DEFAULT_TOKEN_URL",
    "DailyLimitError",
    "DailyQuota",
    "ENDPOINTS",
    "Endpoint",
    "MissingScopesError",
    "NotFoundError",
    "Page",
    "PLAN_LIMITS",
    "Pacer",
    "PaginationError",
    "ServerError",
    "SkippableError",
    "StopRequested",
    "Token",
    "TokenBucket",
    "TokenProvider",
    "TokenRejectedError",
    "TransientError",
    "ZoomAuth",
    "ZoomError",
    "ZoomSession",
    "encode_uuid",
    "format_path",
]
