"""The endpoint table agrees with Zoom's OpenAPI files (test data)."""

from __future__ import annotations

import pytest

from tests.openapi import load_paths, page_size_maximum, rate_limit_label
from zoom_auth import ENDPOINTS


@pytest.mark.parametrize("template", sorted(ENDPOINTS))
def test_endpoint_matches_spec(template):
    paths = load_paths()
    assert template in paths, f"{template} is not in Zoom's OpenAPI files"
    operation = paths[template]["get"]
    registered = ENDPOINTS[template]

    assert rate_limit_label(operation) == registered.category.upper()
    assert page_size_maximum(operation) == registered.max_page_size
