"""The emulator's 200 responses against the 200 schemas of Zoom's OpenAPI files.

Test data: Zoom's API Hub OpenAPI 3.0 files (Users.json, Meetings.json,
Accounts.json) in ../shared/zoom-openapi/api-hub next to the repository, or in
the folder named by ZOOM_OPENAPI_DIR. Every object schema is made strict
(``additionalProperties: false``) so the emulator cannot invent fields.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
import requests
from jsonschema import FormatChecker
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from tests.openapi import load_paths, rate_limit_label, spec_dir
from zoom_fake import AccountSpec, FakeZoom
from zoom_fake.account import Account

SPEC_DIR = spec_dir()
TIMEOUT = (2.0, 5.0)
ANCHOR = datetime(2026, 3, 10, tzinfo=UTC)
NOW = ANCHOR + timedelta(hours=10)
# Zoom's OpenAPI files give these list routes a page_size but no maximum; the
# emulator uses the 300 of Zoom's other report lists.
UNSTATED_PAGE_SIZE_MAX = {("GET", "/v2/report/activities"): 300}
SPEC_CATEGORIES = {
    "LIGHT": "Light",
    "MEDIUM": "Medium",
    "HEAVY": "Heavy",
    "RESOURCE-INTENSIVE": "Resource-intensive",
}

pytestmark = pytest.mark.skipif(
    not SPEC_DIR.is_dir(),
    reason=f"Zoom OpenAPI files not found at {SPEC_DIR}; set ZOOM_OPENAPI_DIR",
)

Sample = Callable[[Account], tuple[str, dict[str, str]]]


def _uuid_path(uuid: str) -> str:
    once = quote(uuid, safe="")
    return quote(once, safe="") if uuid.startswith("/") or "//" in uuid else once


def _uuid_form(uuid: str) -> str:
    if uuid.startswith("/"):
        return "leading"
    if "//" in uuid:
        return "double"
    return "plain"


def _past_uuid(account: Account, form: str) -> str:
    for uuid in account.past_meetings:
        if _uuid_form(uuid) == form:
            return uuid
    raise AssertionError(f"the account has no past meeting UUID of form {form}")


def _user_of(account: Account, status: str) -> dict[str, Any]:
    return next(user for user in account.users if user["status"] == status)


def _last_month() -> dict[str, str]:
    first = ANCHOR.date() - timedelta(days=30)
    return {"from": first.isoformat(), "to": ANCHOR.date().isoformat()}


def _series_id(account: Account) -> int:
    return int(account.first_only_attended_series()["id"])


def _webinar_id(account: Account) -> int:
    for user_id in account.webinar_users:
        for webinar in account.webinars_for(user_id):
            if account.past_instances(webinar["id"], "webinar"):
                return int(webinar["id"])
    raise AssertionError("the account has no webinar with an ended instance")


def _webinar_uuid(account: Account) -> str:
    instances = account.past_instances(_webinar_id(account), "webinar")
    return str(instances[-1]["uuid"])


def _recording_window(account: Account) -> dict[str, str]:
    recordings = account.recordings_for(account.owner["id"])
    assert recordings, "the owner has no recording before the sample clock"
    day = recordings[0]["start_time"][:10]
    return {"from": day, "to": day}


def _group_members_path(account: Account) -> str:
    group = max(account.groups, key=lambda group: group["total_members"])
    return f"/v2/groups/{group['id']}/members"


# Requests that exercise each route; every route of FakeZoom.routes needs one.
SAMPLES: dict[tuple[str, str], dict[str, Sample]] = {
    ("GET", "/v2/users"): {
        "active": lambda account: ("/v2/users", {}),
        "inactive": lambda account: ("/v2/users", {"status": "inactive"}),
        "pending": lambda account: ("/v2/users", {"status": "pending"}),
        "small-page": lambda account: ("/v2/users", {"page_size": "2"}),
    },
    ("GET", "/v2/users/{userId}"): {
        "me": lambda account: ("/v2/users/me", {}),
        "member-by-id": lambda account: (f"/v2/users/{account.users[1]['id']}", {}),
        "inactive": lambda account: (
            f"/v2/users/{_user_of(account, 'inactive')['id']}",
            {},
        ),
        "pending-by-email": lambda account: (
            f"/v2/users/{_user_of(account, 'pending')['email']}",
            {},
        ),
    },
    ("GET", "/v2/users/{userId}/meetings"): {
        "owner": lambda account: ("/v2/users/me/meetings", {}),
        "member": lambda account: (
            f"/v2/users/{account.users[2]['id']}/meetings",
            {"page_size": "2"},
        ),
        "previous": lambda account: (
            "/v2/users/me/meetings",
            {"type": "previous_meetings"},
        ),
    },
    ("GET", "/v2/past_meetings/{meetingId}"): {
        "leading-slash-uuid": lambda account: (
            "/v2/past_meetings/" + _uuid_path(_past_uuid(account, "leading")),
            {},
        ),
        "double-slash-uuid": lambda account: (
            "/v2/past_meetings/" + _uuid_path(_past_uuid(account, "double")),
            {},
        ),
        "plain-uuid": lambda account: (
            "/v2/past_meetings/" + _uuid_path(_past_uuid(account, "plain")),
            {},
        ),
        "meeting-id": lambda account: (
            f"/v2/past_meetings/{account.meetings_for(account.owner['id'])[0]['id']}",
            {},
        ),
    },
}

SAMPLES.update(
    {
        ("GET", "/v2/past_meetings/{meetingId}/instances"): {
            "recurring": lambda account: (
                f"/v2/past_meetings/{_series_id(account)}/instances",
                {},
            ),
        },
        ("GET", "/v2/report/users"): {
            "active": lambda account: ("/v2/report/users", _last_month()),
            "inactive": lambda account: (
                "/v2/report/users",
                {**_last_month(), "type": "inactive", "page_size": "3"},
            ),
        },
        ("GET", "/v2/report/users/{userId}/meetings"): {
            "owner": lambda account: (
                "/v2/report/users/me/meetings",
                _last_month(),
            ),
            "small-page": lambda account: (
                f"/v2/report/users/{account.owner['id']}/meetings",
                {**_last_month(), "page_size": "2"},
            ),
            "past-one": lambda account: (
                "/v2/report/users/me/meetings",
                {**_last_month(), "type": "pastOne"},
            ),
        },
        ("GET", "/v2/report/meetings/{meetingId}/participants"): {
            "leading-slash-uuid": lambda account: (
                "/v2/report/meetings/"
                + _uuid_path(_past_uuid(account, "leading"))
                + "/participants",
                {},
            ),
            "double-slash-uuid": lambda account: (
                "/v2/report/meetings/"
                + _uuid_path(_past_uuid(account, "double"))
                + "/participants",
                {"include_fields": "registrant_id"},
            ),
            "meeting-id": lambda account: (
                f"/v2/report/meetings/{_series_id(account)}/participants",
                {},
            ),
            "rejoins-and-guests": lambda account: (
                "/v2/report/meetings/"
                + _uuid_path(account.first_only_attended_series()["uuids"][0])
                + "/participants",
                {"page_size": "5"},
            ),
        },
        ("GET", "/v2/users/{userId}/webinars"): {
            "owner": lambda account: ("/v2/users/me/webinars", {}),
            "upcoming": lambda account: (
                f"/v2/users/{account.webinar_users[-1]}/webinars",
                {"type": "upcoming"},
            ),
        },
        ("GET", "/v2/past_webinars/{webinarId}/instances"): {
            "webinar-id": lambda account: (
                f"/v2/past_webinars/{_webinar_id(account)}/instances",
                {},
            ),
        },
        ("GET", "/v2/report/webinars/{webinarId}/participants"): {
            "uuid": lambda account: (
                "/v2/report/webinars/"
                + _uuid_path(_webinar_uuid(account))
                + "/participants",
                {"include_fields": "registrant_id"},
            ),
            "webinar-id": lambda account: (
                f"/v2/report/webinars/{_webinar_id(account)}/participants",
                {},
            ),
        },
        ("GET", "/v2/users/{userId}/recordings"): {
            "owner": lambda account: (
                "/v2/users/me/recordings",
                _recording_window(account),
            ),
            "clamped": lambda account: (
                "/v2/users/me/recordings",
                {"from": "2025-01-01", "to": ANCHOR.date().isoformat()},
            ),
            "defaults": lambda account: ("/v2/users/me/recordings", {}),
        },
        ("GET", "/v2/report/daily"): {
            "current-month": lambda account: ("/v2/report/daily", {}),
            "earlier-month": lambda account: (
                "/v2/report/daily",
                {"year": "2026", "month": "1"},
            ),
        },
        ("GET", "/v2/report/activities"): {
            "last-month": lambda account: ("/v2/report/activities", _last_month()),
            "defaults": lambda account: (
                "/v2/report/activities",
                {"page_size": "5"},
            ),
        },
        ("GET", "/v2/report/operationlogs"): {
            "last-month": lambda account: (
                "/v2/report/operationlogs",
                _last_month(),
            ),
            "category": lambda account: (
                "/v2/report/operationlogs",
                {**_last_month(), "category_type": "user"},
            ),
        },
        ("GET", "/v2/groups"): {
            "all": lambda account: ("/v2/groups", {}),
        },
        ("GET", "/v2/groups/{groupId}/members"): {
            "largest": lambda account: (_group_members_path(account), {}),
        },
        ("GET", "/v2/metrics/meetings"): {
            "past": lambda account: (
                "/v2/metrics/meetings",
                {**_last_month(), "type": "past"},
            ),
            "past-one": lambda account: (
                "/v2/metrics/meetings",
                {**_last_month(), "type": "pastOne"},
            ),
            "live": lambda account: ("/v2/metrics/meetings", _last_month()),
            "tracking-fields": lambda account: (
                "/v2/metrics/meetings",
                {**_last_month(), "type": "past", "include_fields": "tracking_fields"},
            ),
        },
    }
)

SAMPLE_CASES = [
    pytest.param(route, name, id=f"{route[1]}:{name}")
    for route, samples in SAMPLES.items()
    for name in samples
]


def _operation(method: str, template: str) -> dict[str, Any]:
    spec_path = template.removeprefix("/v2")
    item = load_paths().get(spec_path)
    assert item is not None, f"{spec_path} is not in the spec files"
    operation = item.get(method.lower())
    assert operation is not None, f"{method} {spec_path} is not in the spec files"
    return dict(operation)


def _response_schema(method: str, template: str) -> dict[str, Any]:
    content = _operation(method, template)["responses"]["200"]["content"]
    return dict(content["application/json"]["schema"])


def _is_object(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "object" or "properties" in schema


def _merge_all_of(schema: dict[str, Any]) -> dict[str, Any]:
    """Fold an allOf of object schemas into one object schema.

    Strict parts of an allOf would each reject the others' properties, so the
    parts are merged before additionalProperties is set.
    """
    parts = [_merge_all_of(part) for part in schema.get("allOf", [])]
    if not parts:
        return schema
    if not all(_is_object(part) for part in parts):
        raise AssertionError(f"cannot make a strict copy of allOf {parts!r}")
    merged: dict[str, Any] = {key: value for key, value in schema.items()}
    del merged["allOf"]
    merged["type"] = "object"
    properties: dict[str, Any] = dict(merged.get("properties", {}))
    required: list[str] = list(merged.get("required", []))
    for part in parts:
        properties.update(part.get("properties", {}))
        required.extend(
            name for name in part.get("required", []) if name not in required
        )
    merged["properties"] = properties
    if required:
        merged["required"] = required
    return merged


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of a schema in which no object allows undeclared properties."""
    result = _merge_all_of(copy.deepcopy(schema))
    if "properties" in result:
        result["properties"] = {
            name: strict_schema(value) for name, value in result["properties"].items()
        }
    if isinstance(result.get("items"), dict):
        result["items"] = strict_schema(result["items"])
    for keyword in ("anyOf", "oneOf"):
        if keyword in result:
            result[keyword] = [strict_schema(part) for part in result[keyword]]
    if isinstance(result.get("additionalProperties"), dict):
        result["additionalProperties"] = strict_schema(result["additionalProperties"])
    elif _is_object(result):
        result["additionalProperties"] = False
    return result


def _format_checker() -> FormatChecker:
    """Return jsonschema's format checks plus OpenAPI's, with date-time in UTC "Z"."""
    checker = FormatChecker()
    checker.checkers.update(oas30_format_checker.checkers)

    @checker.checks("date-time", raises=ValueError)
    def is_utc_timestamp(value: object) -> bool:
        if isinstance(value, str):
            datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
        return True

    return checker


def schema_errors(schema: dict[str, Any], body: Any) -> list[str]:
    """Return one line per place where ``body`` breaks the strict ``schema``."""
    validator = OAS30Validator(strict_schema(schema), format_checker=_format_checker())
    return [
        f"{'/'.join(str(part) for part in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(body)
    ]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeZoom]:
    spec = AccountSpec(seed=3, anchor=ANCHOR)
    with FakeZoom(account=spec, clock=NOW.timestamp) as server:
        yield server


@pytest.fixture(scope="module")
def token(fake: FakeZoom) -> str:
    response = requests.post(
        fake.token_url,
        auth=(fake.client_id, fake.client_secret),
        data={"grant_type": "account_credentials", "account_id": fake.account_id},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _get(fake: FakeZoom, token: str, path: str, params: dict[str, str]) -> Any:
    response = requests.get(
        fake.url + path,
        headers={"Authorization": f"Bearer {token}"},
        params=params,
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_every_route_has_samples() -> None:
    served = {(route.method, route.template) for route in FakeZoom.routes}
    assert served == set(SAMPLES)


@pytest.mark.parametrize(("route", "name"), SAMPLE_CASES)
def test_route_body_matches_spec(
    fake: FakeZoom, token: str, route: tuple[str, str], name: str
) -> None:
    path, params = SAMPLES[route][name](fake.account)
    body = _get(fake, token, path, params)
    assert schema_errors(_response_schema(*route), body) == []


@pytest.mark.parametrize(
    ("route", "key"),
    [
        (("GET", "/v2/report/users"), "users"),
        (("GET", "/v2/report/users/{userId}/meetings"), "meetings"),
        (("GET", "/v2/report/meetings/{meetingId}/participants"), "participants"),
        (("GET", "/v2/users/{userId}/recordings"), "meetings"),
        (("GET", "/v2/report/activities"), "activity_logs"),
        (("GET", "/v2/report/operationlogs"), "operation_logs"),
        (("GET", "/v2/metrics/meetings"), "meetings"),
        (("GET", "/v2/groups"), "groups"),
    ],
    ids=lambda value: value if isinstance(value, str) else value[1],
)
def test_samples_list_records(
    fake: FakeZoom, token: str, route: tuple[str, str], key: str
) -> None:
    """A schema check of an empty list proves little, so samples must list some."""
    bodies = [
        _get(fake, token, *sample(fake.account)) for sample in SAMPLES[route].values()
    ]
    assert any(body[key] for body in bodies)


def test_strict_schema_rejects_invented_field(fake: FakeZoom, token: str) -> None:
    body = _get(fake, token, "/v2/users", {})
    body["users"][0]["favourite_colour"] = "teal"
    errors = schema_errors(_response_schema("GET", "/v2/users"), body)
    assert len(errors) == 1
    assert "favourite_colour" in errors[0]


def test_strict_schema_merges_all_of(fake: FakeZoom, token: str) -> None:
    body = _get(fake, token, "/v2/users/me/meetings", {})
    body["meetings"][0]["invented"] = 1
    body["invented_envelope_field"] = 1
    errors = schema_errors(_response_schema("GET", "/v2/users/{userId}/meetings"), body)
    assert len(errors) == 2


def test_schema_rejects_offset_timestamp(fake: FakeZoom, token: str) -> None:
    body = _get(fake, token, "/v2/users/me", {})
    body["created_at"] = "2025-01-01T10:00:00+01:00"
    errors = schema_errors(_response_schema("GET", "/v2/users/{userId}"), body)
    assert len(errors) == 1
    assert errors[0].startswith("created_at:")


@pytest.mark.parametrize(
    "route", list(FakeZoom.routes), ids=lambda route: f"{route.method} {route.template}"
)
def test_page_size_max_matches_spec(route: Any) -> None:
    parameters = _operation(route.method, route.template).get("parameters", [])
    page_size = [param for param in parameters if param["name"] == "page_size"]
    if route.page_size_max is None:
        assert page_size == []
        return
    assert len(page_size) == 1
    maximum = page_size[0]["schema"].get("maximum")
    if maximum is None:
        maximum = UNSTATED_PAGE_SIZE_MAX[(route.method, route.template)]
    assert maximum == route.page_size_max


@pytest.mark.parametrize(
    "route", list(FakeZoom.routes), ids=lambda route: f"{route.method} {route.template}"
)
def test_route_scopes_match_spec(route: Any) -> None:
    extensions = _operation(route.method, route.template)["x-extensions"]
    assert set(route.classic_scopes) == set(extensions["x-macro-scopes"])
    assert set(route.granular_scopes) == set(extensions.get("x-granular-scopes") or [])


@pytest.mark.parametrize(
    "route", list(FakeZoom.routes), ids=lambda route: f"{route.method} {route.template}"
)
def test_route_category_matches_spec(route: Any) -> None:
    label = rate_limit_label(_operation(route.method, route.template))
    assert label is not None
    assert SPEC_CATEGORIES[label] == route.category
