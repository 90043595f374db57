"""Tests for jobs.config: loading, interpolation, credential files and errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from jobs.config import (
    DEFAULT_SCHEDULES,
    JOB_NAMES,
    Config,
    ConfigError,
    JobSettings,
    SchedulerSettings,
    ZoomSettings,
    config_from_mapping,
    default_config_path,
    load_config,
)
from jobs.schedule import Schedule
from zoom_auth.errors import ConfigurationError

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = REPO_ROOT / "config.yaml"

SECRET = "s3ntinel-Client-Secret-C0FFEE"
EXAMPLE_ENV = {
    "ZOOM_ACCOUNT_ID": "acct-123",
    "ZOOM_CLIENT_ID": "client-456",
    "ZOOM_CLIENT_SECRET": SECRET,
}


def zoom_section(**overrides: Any) -> dict[str, Any]:
    """Return a valid zoom section with some keys replaced (None removes one)."""
    section: dict[str, Any] = {
        "account_id": "acct-123",
        "client_id": "client-456",
        "client_secret": SECRET,
    }
    section.update(overrides)
    return {key: value for key, value in section.items() if value is not None}


def build(
    data: object,
    tmp_path: Path,
    env: dict[str, str] | None = None,
    source: str | None = "test.yaml",
) -> Config:
    return config_from_mapping(data, base_dir=tmp_path, env=env or {}, source=source)


def build_error(
    data: object, tmp_path: Path, env: dict[str, str] | None = None
) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        build(data, tmp_path, env)
    return caught.value


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def assert_no_secret(error: BaseException) -> None:
    assert SECRET not in str(error)
    assert SECRET not in repr(error)


# --- The committed example --------------------------------------------------


def test_example_loads_with_env() -> None:
    config = load_config(EXAMPLE_CONFIG, env=EXAMPLE_ENV)

    assert config.zoom.account_id == "acct-123"
    assert config.zoom.client_id == "client-456"
    assert config.zoom.client_secret == SECRET
    assert config.zoom.token_url == "https://zoom.us/oauth/token"
    assert config.database == REPO_ROOT / "zoom.db"
    assert config.enabled_jobs() == list(JOB_NAMES)
    assert config.source == EXAMPLE_CONFIG


def test_example_matches_dataclass_defaults() -> None:
    config = load_config(EXAMPLE_CONFIG, env=EXAMPLE_ENV)
    defaults = ZoomSettings(
        account_id="acct-123", client_id="client-456", client_secret=SECRET
    )

    assert config.zoom == defaults
    assert config.scheduler == SchedulerSettings()
    for name in JOB_NAMES:
        assert config.jobs[name] == JobSettings(name)


def test_example_lists_every_setting() -> None:
    document = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))

    assert set(document) == {"zoom", "database", "jobs", "scheduler", "sync"}
    assert set(document["zoom"]) == {f.name for f in dataclasses.fields(ZoomSettings)}
    assert set(document["jobs"]) == set(JOB_NAMES)
    scheduler_keys = {f.name for f in dataclasses.fields(SchedulerSettings)}
    assert set(document["scheduler"]) == scheduler_keys


def test_example_holds_no_secret() -> None:
    document = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))

    for name in ("account_id", "client_id", "client_secret"):
        assert document["zoom"][name] == f"${{ZOOM_{name.upper()}}}"


def test_example_without_env_names_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(EXAMPLE_CONFIG, env={})

    message = str(caught.value)
    assert "ZOOM_ACCOUNT_ID" in message
    assert "zoom.account_id" in message
    assert message.startswith(f"{EXAMPLE_CONFIG}: ")
    assert caught.value.exit_code == 78
    assert isinstance(caught.value, ConfigurationError)


def test_example_token_url_from_env() -> None:
    env = {**EXAMPLE_ENV, "ZOOM_TOKEN_URL": "http://127.0.0.1:8080/oauth/token"}

    config = load_config(EXAMPLE_CONFIG, env=env)

    assert config.zoom.token_url == "http://127.0.0.1:8080/oauth/token"


# --- ConfigError and small helpers --------------------------------------------


def test_error_text_with_source_and_key() -> None:
    error = ConfigError("is missing; set it", key="zoom.client_id", source="a.yaml")

    assert str(error) == "a.yaml: zoom.client_id is missing; set it"
    assert error.key == "zoom.client_id"
    assert error.source == "a.yaml"
    assert error.exit_code == 78


def test_error_text_without_source_or_key() -> None:
    assert str(ConfigError("bad", key="jobs")) == "jobs bad"
    assert str(ConfigError("bad", source="a.yaml")) == "a.yaml: bad"
    assert str(ConfigError("bad")) == "bad"


def test_default_path_from_env() -> None:
    env = {"ZOOM_ETL_CONFIG": "/etc/z.yaml"}

    assert default_config_path(env) == Path("/etc/z.yaml")
    assert default_config_path({}) == Path("config.yaml")
    assert default_config_path({"ZOOM_ETL_CONFIG": ""}) == Path("config.yaml")


# --- Interpolation ------------------------------------------------------------


def test_variable_replaced_in_any_string(tmp_path: Path) -> None:
    data = {
        "zoom": zoom_section(client_id="${CID}", account_id="pre-${ACCT}-post"),
        "database": "${DATA}/zoom.db",
    }
    env = {"CID": "from-env", "ACCT": "A1", "DATA": "/srv/zoom"}

    config = build(data, tmp_path, env)

    assert config.zoom.client_id == "from-env"
    assert config.zoom.account_id == "pre-A1-post"
    assert config.database == Path("/srv/zoom/zoom.db")


def test_default_used_when_unset_or_empty(tmp_path: Path) -> None:
    data = {"zoom": zoom_section(client_id="${CID:-fallback}")}

    assert build(data, tmp_path, {}).zoom.client_id == "fallback"
    assert build(data, tmp_path, {"CID": ""}).zoom.client_id == "fallback"
    assert build(data, tmp_path, {"CID": "set"}).zoom.client_id == "set"


def test_database_default_relative_to_base(tmp_path: Path) -> None:
    data = {"zoom": zoom_section(), "database": "${STATE_DIRECTORY:-.}/zoom.db"}

    assert build(data, tmp_path, {}).database == tmp_path / "zoom.db"
    state = {"STATE_DIRECTORY": "/var/lib/zoom-etl"}
    assert build(data, tmp_path, state).database == Path("/var/lib/zoom-etl/zoom.db")


def test_database_defaults_to_zoom_db(tmp_path: Path) -> None:
    assert build({"zoom": zoom_section()}, tmp_path).database == tmp_path / "zoom.db"


def test_other_dollar_forms_are_literal(tmp_path: Path) -> None:
    data = {"zoom": zoom_section(client_id="$CID-${not valid}-$$")}

    config = build(data, tmp_path, {"CID": "x"})

    assert config.zoom.client_id == "$CID-${not valid}-$$"


def test_unset_variable_names_key_and_fix(tmp_path: Path) -> None:
    data = {"zoom": zoom_section(client_secret="${MISSING_SECRET}")}

    error = build_error(data, tmp_path)

    message = str(error)
    assert error.key == "zoom.client_secret"
    assert "${MISSING_SECRET}" in message
    assert "export MISSING_SECRET" in message
    assert "zoom.client_secret_file" in message


def test_unset_variable_in_database(tmp_path: Path) -> None:
    error = build_error({"zoom": zoom_section(), "database": "${NOPE}/z.db"}, tmp_path)

    assert error.key == "database"
    assert "export NOPE" in str(error)
    assert "_file" not in str(error)


def test_empty_credential_after_interpolation(tmp_path: Path) -> None:
    data = {"zoom": zoom_section(client_id="${CID}")}

    error = build_error(data, tmp_path, {"CID": "  "})

    assert error.key == "zoom.client_id"
    assert "is empty (from '${CID}')" in str(error)
    assert "Zoom App Marketplace" in str(error)


# --- Credential files ---------------------------------------------------------


def test_secret_file_relative_to_config(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text(f"  {SECRET}\n", encoding="utf-8")
    data = {"zoom": zoom_section(client_secret=None, client_secret_file="secret.txt")}

    assert build(data, tmp_path).zoom.client_secret == SECRET


def test_every_credential_from_files(tmp_path: Path) -> None:
    for name, value in [("acct", "A"), ("cid", "C"), ("sec", SECRET)]:
        (tmp_path / name).write_text(value, encoding="utf-8")
    data = {
        "zoom": {
            "account_id_file": "acct",
            "client_id_file": str(tmp_path / "cid"),
            "client_secret_file": "sec",
        }
    }

    zoom = build(data, tmp_path).zoom

    assert (zoom.account_id, zoom.client_id, zoom.client_secret) == ("A", "C", SECRET)


def test_secret_file_in_credentials_directory(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "zoom-secret").write_text(SECRET, encoding="utf-8")
    (tmp_path / "zoom-secret").write_text("wrong-one", encoding="utf-8")
    data = {"zoom": zoom_section(client_secret=None, client_secret_file="zoom-secret")}
    env = {"CREDENTIALS_DIRECTORY": str(credentials)}

    assert build(data, tmp_path, env).zoom.client_secret == SECRET


def test_absolute_file_ignores_credentials_directory(tmp_path: Path) -> None:
    secret_file = tmp_path / "abs-secret"
    secret_file.write_text(SECRET, encoding="utf-8")
    section = zoom_section(client_secret=None, client_secret_file=str(secret_file))
    data = {"zoom": section}
    env = {"CREDENTIALS_DIRECTORY": str(tmp_path / "elsewhere")}

    assert build(data, tmp_path, env).zoom.client_secret == SECRET


def test_file_path_interpolated(tmp_path: Path) -> None:
    (tmp_path / "sec").write_text(SECRET, encoding="utf-8")
    data = {"zoom": zoom_section(client_secret=None, client_secret_file="${DIR}/sec")}

    config = build(data, tmp_path, {"DIR": str(tmp_path)})

    assert config.zoom.client_secret == SECRET


def test_both_forms_rejected(tmp_path: Path) -> None:
    (tmp_path / "sec").write_text(SECRET, encoding="utf-8")
    data = {"zoom": zoom_section(client_secret_file="sec")}

    error = build_error(data, tmp_path)

    assert error.key == "zoom.client_secret"
    assert "zoom.client_secret_file" in str(error)
    assert "both set" in str(error)
    assert_no_secret(error)


def test_missing_secret_file(tmp_path: Path) -> None:
    data = {"zoom": zoom_section(client_secret=None, client_secret_file="absent")}

    error = build_error(data, tmp_path)

    message = str(error)
    assert error.key == "zoom.client_secret_file"
    assert str(tmp_path / "absent") in message
    assert "No such file or directory" in message
    assert str(tmp_path) in message.split(";", 1)[1]


def test_missing_file_names_credentials_directory(tmp_path: Path) -> None:
    data = {"zoom": zoom_section(client_secret=None, client_secret_file="absent")}
    env = {"CREDENTIALS_DIRECTORY": "/run/credentials/zoom-etl.service"}

    error = build_error(data, tmp_path, env)

    assert "/run/credentials/zoom-etl.service/absent" in str(error)
    assert "$CREDENTIALS_DIRECTORY" in str(error)


def test_unreadable_secret_file(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    data = {"zoom": zoom_section(client_secret=None, client_secret_file="folder")}

    error = build_error(data, tmp_path)

    assert error.key == "zoom.client_secret_file"
    assert "Is a directory" in str(error)


def test_empty_secret_file(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text(" \n", encoding="utf-8")
    data = {"zoom": zoom_section(client_secret=None, client_secret_file="empty")}

    error = build_error(data, tmp_path)

    assert error.key == "zoom.client_secret_file"
    assert "is empty" in str(error)
    assert str(tmp_path / "empty") in str(error)


def test_binary_secret_file_not_echoed(tmp_path: Path) -> None:
    (tmp_path / "bin").write_bytes(SECRET.encode() + b"\xff\xfe")
    data = {"zoom": zoom_section(client_secret=None, client_secret_file="bin")}

    error = build_error(data, tmp_path)

    assert error.key == "zoom.client_secret_file"
    assert "not UTF-8" in str(error)
    assert_no_secret(error)
    assert error.__cause__ is None


# --- Missing keys and empty values --------------------------------------------


@pytest.mark.parametrize("name", ["account_id", "client_id", "client_secret"])
def test_missing_credential(tmp_path: Path, name: str) -> None:
    error = build_error({"zoom": zoom_section(**{name: None})}, tmp_path)

    assert error.key == f"zoom.{name}"
    assert f"zoom.{name} is missing" in str(error)
    assert "Zoom App Marketplace" in str(error)
    assert f"zoom.{name}_file" in str(error)


@pytest.mark.parametrize("name", ["account_id", "client_id", "client_secret"])
def test_empty_credential(tmp_path: Path, name: str) -> None:
    error = build_error({"zoom": zoom_section(**{name: ""})}, tmp_path)

    assert error.key == f"zoom.{name}"
    assert "is empty" in str(error)
    assert "Zoom App Marketplace" in str(error)


@pytest.mark.parametrize("data", [{}, {"zoom": None}], ids=["absent", "null"])
def test_missing_zoom_section(tmp_path: Path, data: dict[str, Any]) -> None:
    error = build_error(data, tmp_path)

    assert error.key == "zoom"
    assert "is missing" in str(error)
    assert "Zoom App Marketplace" in str(error)


# --- Unknown keys -------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "key", "suggestion"),
    [
        ({"zoom": zoom_section(), "databse": "x.db"}, "databse", "database"),
        (
            {"zoom": zoom_section(client_secert="x")},
            "zoom.client_secert",
            "zoom.client_secret",
        ),
        (
            {"zoom": zoom_section(read_timout=5)},
            "zoom.read_timout",
            "zoom.read_timeout",
        ),
        (
            {"zoom": zoom_section(), "jobs": {"users": {"enabeld": False}}},
            "jobs.users.enabeld",
            "jobs.users.enabled",
        ),
    ],
    ids=["top-level", "zoom-secret", "zoom-timeout", "job-setting"],
)
def test_unknown_key_suggests_closest(
    tmp_path: Path, data: dict[str, Any], key: str, suggestion: str
) -> None:
    error = build_error(data, tmp_path)

    assert error.key == key
    assert f"{key} is not a known setting" in str(error)
    assert f"did you mean {suggestion}?" in str(error)
    assert_no_secret(error)


def test_unknown_key_without_close_match(tmp_path: Path) -> None:
    error = build_error({"zoom": zoom_section(), "xyzzy": 1}, tmp_path)

    assert error.key == "xyzzy"
    assert "did you mean" not in str(error)
    assert "known keys: zoom, database, jobs" in str(error)


def test_unknown_job_name(tmp_path: Path) -> None:
    error = build_error({"zoom": zoom_section(), "jobs": {"user": {}}}, tmp_path)

    assert error.key == "jobs.user"
    assert "is not a known job" in str(error)
    assert "did you mean jobs.users?" in str(error)
    assert "users_me, users, meetings" in str(error)


def test_unknown_job_without_close_match(tmp_path: Path) -> None:
    error = build_error({"zoom": zoom_section(), "jobs": {"chat": {}}}, tmp_path)

    assert error.key == "jobs.chat"
    assert f"known jobs: {', '.join(JOB_NAMES)}" in str(error)


# --- Types --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("60", "'60' (a string)"),
        (True, "True (a boolean)"),
        (0, "0 (an integer)"),
        (-1.5, "-1.5 (a number)"),
        (float("inf"), "inf (a number)"),
        (float("nan"), "nan (a number)"),
        ([1], "a list"),
    ],
    ids=["string", "bool", "zero", "negative", "inf", "nan", "list"],
)
def test_bad_seconds_rejected(tmp_path: Path, value: object, shown: str) -> None:
    error = build_error({"zoom": zoom_section(read_timeout=value)}, tmp_path)

    assert error.key == "zoom.read_timeout"
    assert f"must be a positive number of seconds, not {shown}" in str(error)


def test_quoted_number_hint(tmp_path: Path) -> None:
    error = build_error({"zoom": zoom_section(connect_timeout="5")}, tmp_path)

    assert "without quotes" in str(error)


def test_numbers_accept_int_and_float(tmp_path: Path) -> None:
    data = {"zoom": zoom_section(read_timeout=5, backoff_base=0.25, max_attempts=2)}

    zoom = build(data, tmp_path).zoom

    assert zoom.read_timeout == 5.0
    assert isinstance(zoom.read_timeout, float)
    assert zoom.backoff_base == 0.25
    assert zoom.max_attempts == 2


@pytest.mark.parametrize(
    "value",
    [0, -3, 2.5, True, "5"],
    ids=["zero", "negative", "float", "bool", "string"],
)
def test_bad_max_attempts(tmp_path: Path, value: object) -> None:
    error = build_error({"zoom": zoom_section(max_attempts=value)}, tmp_path)

    assert error.key == "zoom.max_attempts"
    assert "must be a whole number of at least 1" in str(error)
    assert repr(value) in str(error)


def test_backoff_max_below_base(tmp_path: Path) -> None:
    data = {"zoom": zoom_section(backoff_base=10, backoff_max=2)}

    error = build_error(data, tmp_path)

    assert error.key == "zoom.backoff_max"
    assert "below zoom.backoff_base" in str(error)


@pytest.mark.parametrize("value", ["yes", 1, None], ids=["string", "int", "null"])
def test_bad_enabled(tmp_path: Path, value: object) -> None:
    data = {"zoom": zoom_section(), "jobs": {"users": {"enabled": value}}}

    error = build_error(data, tmp_path)

    assert error.key == "jobs.users.enabled"
    assert "must be true or false" in str(error)


def test_job_not_a_mapping(tmp_path: Path) -> None:
    error = build_error({"zoom": zoom_section(), "jobs": {"users": False}}, tmp_path)

    assert error.key == "jobs.users"
    assert "must be a mapping" in str(error)


@pytest.mark.parametrize("key", ["zoom", "jobs"])
def test_section_not_a_mapping(tmp_path: Path, key: str) -> None:
    data: dict[str, Any] = {"zoom": zoom_section(), key: ["a", "b"]}

    error = build_error(data, tmp_path)

    assert error.key == key
    assert "must be a mapping" in str(error)
    assert "a list" in str(error)


@pytest.mark.parametrize("data", [["zoom"], "zoom", 3], ids=["list", "string", "int"])
def test_top_level_not_a_mapping(tmp_path: Path, data: object) -> None:
    error = build_error(data, tmp_path)

    assert error.key is None
    assert "top level must be a mapping" in str(error)
    assert str(error).startswith("test.yaml: ")


def test_empty_document(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="configuration is empty"):
        load_config(write(tmp_path, "# only a comment\n"), env={})


def test_secret_of_wrong_type_not_echoed(tmp_path: Path) -> None:
    for value in ([SECRET], {"x": SECRET}, 987654321987):
        error = build_error({"zoom": zoom_section(client_secret=value)}, tmp_path)

        assert error.key == "zoom.client_secret"
        assert "must be a string" in str(error)
        assert_no_secret(error)
        assert "987654321987" not in str(error)


def test_jobs_default_enabled(tmp_path: Path) -> None:
    jobs = {"users": {"enabled": False}, "meetings": None}
    data = {"zoom": zoom_section(), "jobs": jobs}

    config = build(data, tmp_path)

    assert config.enabled_jobs() == [n for n in JOB_NAMES if n != "users"]
    assert config.jobs["users"] == JobSettings("users", enabled=False)
    assert set(config.jobs) == set(JOB_NAMES)


def test_enabled_jobs_keep_run_order(tmp_path: Path) -> None:
    data = {
        "zoom": zoom_section(),
        "jobs": {"meetings": {"enabled": True}, "users_me": {"enabled": True}},
    }

    assert build(data, tmp_path).enabled_jobs() == list(JOB_NAMES)


# --- URLs ---------------------------------------------------------------------


@pytest.mark.parametrize("key", ["token_url", "api_base_url"])
def test_plain_http_rejected_off_loopback(tmp_path: Path, key: str) -> None:
    data = {"zoom": zoom_section(**{key: "http://zoom.us/oauth/token"})}

    error = build_error(data, tmp_path)

    assert error.key == f"zoom.{key}"
    assert "plain http" in str(error)
    assert "use https" in str(error)
    assert_no_secret(error)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/oauth/token",
        "http://localhost/oauth/token",
        "http://[::1]:9000/oauth/token",
        "https://zoom.us/oauth/token",
    ],
)
def test_accepted_token_urls(tmp_path: Path, url: str) -> None:
    assert build({"zoom": zoom_section(token_url=url)}, tmp_path).zoom.token_url == url


@pytest.mark.parametrize(
    "url",
    [
        "ftp://zoom.us/token",
        "zoom.us/oauth/token",
        "https://",
        "https://zoom.us:99999/",
    ],
    ids=["ftp", "no-scheme", "no-host", "bad-port"],
)
def test_invalid_urls_rejected(tmp_path: Path, url: str) -> None:
    error = build_error({"zoom": zoom_section(token_url=url)}, tmp_path)

    assert error.key == "zoom.token_url"
    assert url in str(error)


def test_url_with_password_not_echoed(tmp_path: Path) -> None:
    url = f"https://user:{SECRET}@zoom.us/oauth/token"

    error = build_error({"zoom": zoom_section(token_url=url)}, tmp_path)

    assert error.key == "zoom.token_url"
    assert "user name or password" in str(error)
    assert_no_secret(error)


def test_api_base_url_trailing_slash_removed(tmp_path: Path) -> None:
    data = {"zoom": zoom_section(api_base_url="https://eu01api.zoom.us/v2/")}

    assert build(data, tmp_path).zoom.api_base_url == "https://eu01api.zoom.us/v2"


def test_api_base_url_null_is_none(tmp_path: Path) -> None:
    data = {"zoom": zoom_section(api_base_url=None)}

    assert build(data, tmp_path).zoom.api_base_url is None


# --- Files and YAML -------------------------------------------------------------


def test_load_resolves_database_next_to_file(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    text = (
        "zoom:\n  account_id: a\n  client_id: b\n  client_secret: c\ndatabase: z.db\n"
    )

    config = load_config(write(folder, text), env={})

    assert config.database == folder / "z.db"
    assert config.source == folder / "config.yaml"


def test_missing_config_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"

    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})

    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert "not found" in message
    assert "--config PATH" in message
    assert "ZOOM_ETL_CONFIG" in message


def test_unreadable_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, env={})

    assert "cannot read" in str(caught.value)
    assert "Is a directory" in str(caught.value)
    assert "--config PATH" in str(caught.value)


def test_malformed_yaml_names_line(tmp_path: Path) -> None:
    text = "zoom:\n  account_id: a\n  client_id: b: c\n"

    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), env={})

    message = str(caught.value)
    assert message.startswith(str(tmp_path / "config.yaml"))
    assert "invalid YAML at line 3, column" in message


def test_malformed_yaml_hides_line_text(tmp_path: Path) -> None:
    text = f'zoom:\n  client_secret: "{SECRET}\n  client_id: x\n'

    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), env={})

    assert "invalid YAML at line 4" in str(caught.value)
    assert "started at line 2" in str(caught.value)
    assert_no_secret(caught.value)
    assert caught.value.__cause__ is None


def test_duplicate_key_rejected(tmp_path: Path) -> None:
    text = "zoom:\n  client_id: a\n  account_id: b\n  client_id: c\n"

    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), env={})

    message = str(caught.value)
    assert "line 4" in message
    assert "duplicate key 'client_id'" in message
    assert "first defined at line 2" in message
    assert "keep one of them" in message


def test_non_utf8_config_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"zoom:\n  client_id: caf\xe9\n")

    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path, env={})


def test_yaml_python_tags_rejected(tmp_path: Path) -> None:
    text = "zoom: !!python/object/apply:os.getcwd []\n"

    with pytest.raises(ConfigError, match="invalid YAML at line 1"):
        load_config(write(tmp_path, text), env={})


# --- The secret never leaks -----------------------------------------------------


def test_config_repr_hides_secret(tmp_path: Path) -> None:
    config = build({"zoom": zoom_section()}, tmp_path)

    assert config.zoom.client_secret == SECRET
    assert SECRET not in repr(config)
    assert SECRET not in str(config)
    assert SECRET not in repr(config.zoom)
    assert "client-456" in repr(config.zoom)


@pytest.mark.parametrize(
    "data",
    [
        {"zoom": zoom_section(account_id=None)},
        {"zoom": zoom_section(client_id="${UNSET}")},
        {"zoom": zoom_section(token_url="http://example.com/token")},
        {"zoom": zoom_section(max_attempts=0)},
        {"zoom": zoom_section(surprise=SECRET)},
        {"zoom": zoom_section(client_secret=f"{SECRET}${{UNSET}}")},
        {"zoom": zoom_section(), "jobs": {"users": {"enabled": "no"}}},
        {"zoom": zoom_section(), "jobs": ["users"]},
    ],
    ids=[
        "missing-account",
        "unset-variable",
        "plain-http",
        "bad-attempts",
        "unknown-key",
        "secret-with-unset-variable",
        "bad-enabled",
        "jobs-list",
    ],
)
def test_errors_never_show_secret(tmp_path: Path, data: dict[str, Any]) -> None:
    error = build_error(data, tmp_path)

    assert str(error)
    assert_no_secret(error)


def test_schedules_cron_and_interval(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(
        "zoom: {account_id: a, client_id: b, client_secret: cccccccccc}\n"
        "scheduler: {timezone: Europe/Berlin, misfire_grace_time: 120}\n"
        "jobs:\n"
        "  users: {schedule: '*/15 * * * *'}\n"
        "  meetings: {schedule: {minutes: 30}}\n"
    )

    config = load_config(path, env={})

    assert config.jobs["users"].schedule == Schedule(cron="*/15 * * * *")
    assert config.jobs["meetings"].schedule == Schedule(interval=(("minutes", 30.0),))
    assert config.jobs["users_me"].schedule == DEFAULT_SCHEDULES["users_me"]
    assert config.scheduler.timezone == "Europe/Berlin"
    assert config.scheduler.misfire_grace_time == 120
    assert config.scheduler.stop_timeout == 60


def test_committed_config_has_both_schedule_forms():
    env = {
        "ZOOM_ACCOUNT_ID": "a",
        "ZOOM_CLIENT_ID": "b",
        "ZOOM_CLIENT_SECRET": "cccccccccc",
    }

    config = load_config(REPO_ROOT / "config.yaml", env=env)

    schedules = [job.schedule for job in config.jobs.values()]
    assert any(s.cron for s in schedules)
    assert any(s.interval for s in schedules)


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("'61 * * * *'", "not a valid crontab expression"),
        ("{minutes: 0}", "more than 0 seconds"),
        ("{fortnights: 1}", "unknown interval unit"),
        ("{minutes: '5'}", "needs a number of minutes"),
        ("12", "crontab string"),
    ],
    ids=["bad-cron", "zero-interval", "bad-unit", "string-amount", "number"],
)
def test_bad_schedule_names_key(tmp_path, schedule, expected):
    path = tmp_path / "config.yaml"
    path.write_text(
        "zoom: {account_id: a, client_id: b, client_secret: cccccccccc}\n"
        f"jobs:\n  meetings: {{schedule: {schedule}}}\n"
    )

    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})

    assert "jobs.meetings.schedule" in str(caught.value)
    assert expected in str(caught.value)


def test_bad_timezone_names_key(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(
        "zoom: {account_id: a, client_id: b, client_secret: cccccccccc}\n"
        "scheduler: {timezone: Mars/Olympus}\n"
    )

    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})

    assert "scheduler.timezone" in str(caught.value)
    assert "Mars/Olympus" in str(caught.value)


def test_numbers_from_environment(tmp_path: Path) -> None:
    data = {
        "zoom": {
            **zoom_section(),
            "read_timeout": "${READ_TIMEOUT:-45}",
            "max_attempts": "${ATTEMPTS}",
        }
    }

    config = config_from_mapping(data, base_dir=tmp_path, env={"ATTEMPTS": "7"})

    assert config.zoom.read_timeout == 45.0
    assert config.zoom.max_attempts == 7


def test_non_number_from_environment_rejected(tmp_path: Path) -> None:
    data = {"zoom": {**zoom_section(), "read_timeout": "${READ_TIMEOUT}"}}

    with pytest.raises(ConfigError) as caught:
        config_from_mapping(data, base_dir=tmp_path, env={"READ_TIMEOUT": "soon"})

    assert caught.value.key == "zoom.read_timeout"
    assert "soon" in str(caught.value)
