"""Word lists and the user record every generated record is built around."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

FIRST_NAMES = (
    "Ava", "Ben", "Chloe", "Diego", "Elena", "Farah", "Gabriel", "Hana", "Ivan",
    "Jill", "Kenji", "Laura", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa",
    "Samir", "Tess", "Umar", "Vera", "Wei", "Ximena", "Yusuf", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Adams", "Brown", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Hughes",
    "Ito", "Jones", "Kowalski", "Lopez", "Martin", "Nguyen", "Okafor", "Patel",
    "Quinto", "Rossi", "Silva", "Tanaka", "Usman", "Varga", "Walsh", "Yilmaz",
)  # fmt: skip
DEPARTMENTS = (
    "Engineering", "Sales", "Marketing", "Support", "Finance", "Operations",
    "Legal", "People",
)  # fmt: skip
JOB_TITLES = ("Engineer", "Manager", "Analyst", "Specialist", "Director", "Lead")
LOCATIONS = ("New York", "Chicago", "Denver", "San Francisco", "London", "Berlin")
TIMEZONES = (
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "Europe/London", "Europe/Berlin", "Asia/Tokyo", "Asia/Kolkata",
    "Australia/Sydney", "Asia/Singapore",
)  # fmt: skip
CLIENT_VERSIONS = (
    "6.3.11.60501(mac)", "6.2.7.55318(win)", "6.1.1.44021(android)",
    "6.3.5.58114(ios)", "5.17.11.34827(win)",
)  # fmt: skip
TOPICS = (
    "Weekly sync", "Sprint planning", "1:1", "Customer call", "All hands",
    "Design review", "Quarterly business review", "Interview", "Stand-up",
    "Training",
)  # fmt: skip
WEBINAR_TOPICS = (
    "Product launch", "Customer onboarding", "Quarterly update", "Office hours",
    "Partner briefing", "Feature deep dive",
)  # fmt: skip
AGENDAS = (
    "", "", "Status updates and blockers.", "Review the open action items.",
    "Walk through the proposal and agree on next steps.",
)  # fmt: skip

ROLES = {"0": "Owner", "1": "Admin", "2": "Member"}
COMPANY = "Example Corp"
CLUSTER = "us06"
WEB_HOST = "https://us06web.zoom.us"


@dataclass(frozen=True)
class Person:
    """One user of the account, as every record that names a user needs it."""

    index: int
    status: str
    id: str
    first_name: str
    last_name: str
    email: str
    type: int
    role_id: str
    pmi: int
    timezone: str
    dept: str
    job_title: str
    location: str
    client_version: str
    user_created_at: datetime
    last_login_time: datetime
    group_ids: tuple[str, ...]
    im_group_ids: tuple[str, ...]

    @property
    def display_name(self) -> str:
        """First and last name, as Zoom shows the user in meetings."""
        return f"{self.first_name} {self.last_name}"
