"""A Zoom emulator on loopback: the S2S OAuth token endpoint and REST API v2.

Tests, benchmarks and ``zoom-etl demo`` run against it; the client code is the
same one that talks to Zoom. Run ``python -m zoom_fake`` to serve it from a shell.
"""

from zoom_fake.account import Account, AccountSpec
from zoom_fake.faults import Fault
from zoom_fake.ratelimit import RateStats
from zoom_fake.server import (
    DEMO_ACCOUNT_ID,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    FakeZoom,
    RequestRecord,
)
from zoom_fake.spec import ACCOUNT_SIZES

__all__ = [
    "ACCOUNT_SIZES",
    "DEMO_ACCOUNT_ID",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "Account",
    "AccountSpec",
    "FakeZoom",
    "Fault",
    "RateStats",
    "RequestRecord",
]
