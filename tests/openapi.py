"""Access to Zoom's OpenAPI files, which some tests use as test data.

The files live outside the repository, in ../shared/zoom-openapi/api-hub, or in
the folder named by $ZOOM_OPENAPI_DIR. Tests that need them are skipped when
they are absent.
"""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT

SPEC_FILES = ("Users.json", "Meetings.json", "Accounts.json")


def spec_dir() -> Path:
    configured = os.environ.get("ZOOM_OPENAPI_DIR")
    if configured:
        return Path(configured)
    return REPO_ROOT.parent / "shared" / "zoom-openapi" / "api-hub"


@functools.cache
def load_paths() -> dict[str, dict[str, Any]]:
    """Return every path of the three spec files, merged, or skip the test."""
    folder = spec_dir()
    if not all((folder / name).is_file() for name in SPEC_FILES):
        pytest.skip(f"Zoom OpenAPI files not found in {folder}; set ZOOM_OPENAPI_DIR")
    paths: dict[str, dict[str, Any]] = {}
    for name in SPEC_FILES:
        paths.update(json.loads((folder / name).read_text(encoding="utf-8"))["paths"])
    return paths


def rate_limit_label(operation: dict[str, Any]) -> str | None:
    """Return the "Rate Limit Label" an operation's description states."""
    description = operation.get("description", "")
    match = re.search(r"Rate Limit Label.*?`([A-Za-z-]+)`", description, re.DOTALL)
    return match.group(1).upper() if match else None


def page_size_maximum(operation: dict[str, Any]) -> int | None:
    for parameter in operation.get("parameters", []):
        if parameter.get("name") == "page_size":
            return parameter.get("schema", {}).get("maximum")
    return None
