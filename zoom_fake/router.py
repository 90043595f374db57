"""The route table: which handler serves which API request, and on what terms.

A route declares its method, path template, rate-limit category, the scopes that
grant it and, for list routes, the page_size maximum. Adding an endpoint means
writing one handler and decorating it::

    @ROUTES.get(
        "/v2/users/{userId}/webinars",
        category=MEDIUM,
        classic_scopes=("webinar:read:admin", "webinar:read"),
        granular_scopes=("webinar:read:list_webinars:admin",),
        page_size_max=300,
    )
    def list_webinars(request: ApiRequest) -> dict[str, Any]: ...
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from zoom_fake.account import Account
from zoom_fake.base import ApiError, Response
from zoom_fake.paging import PAGE_FIELDS, Page


@dataclass(frozen=True)
class ApiRequest:
    """The request data passed to a route handler.

    Attributes:
        method: HTTP method.
        path: Raw request path, still percent-encoded.
        query: Query parameters with the route's defaults filled in.
        params: Path parameters by template name, still percent-encoded.
        account: The generated account.
        page: The requested page for list routes, else None.
        plan: The account's plan: "free", "pro" or "business".
        dashboards: Whether the Dashboard feature is enabled.
    """

    method: str
    path: str
    query: Mapping[str, str]
    params: Mapping[str, str]
    account: Account
    page: Page | None = None
    plan: str = "business"
    dashboards: bool = True

    def envelope(
        self,
        key: str,
        total: int,
        fetch: Callable[[int, int], list[Any]],
        *,
        fields: Collection[str] = PAGE_FIELDS,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Build the list envelope of the requested page; see :meth:`Page.envelope`.

        Raises:
            RuntimeError: The route declares no page_size_max, so it is not paged.
        """
        if self.page is None:
            message = f"{self.path} is not a list route; give it a page_size_max"
            raise RuntimeError(message)
        return self.page.envelope(key, total, fetch, fields=fields, extra=extra)


Handler = Callable[[ApiRequest], "dict[str, Any] | Response"]


@dataclass(frozen=True)
class Route:
    """One API operation and the terms it is served on.

    Attributes:
        method: HTTP method.
        template: Path with ``{name}`` parameters, e.g. "/v2/users/{userId}".
        category: Rate-limit category: Light, Medium, Heavy or Resource-intensive.
        classic_scopes: Classic scopes that grant the route.
        granular_scopes: Granular scopes that grant the route.
        handler: Returns the 200 body (or a whole Response) or raises ApiError.
        page_size_max: Maximum page_size for a list route; None if unpaged.
        query_defaults: Values of absent query parameters, as Zoom defaults them.
    """

    method: str
    template: str
    category: str
    classic_scopes: tuple[str, ...]
    granular_scopes: tuple[str, ...]
    handler: Handler
    page_size_max: int | None = None
    query_defaults: Mapping[str, str] = field(default_factory=dict)

    @property
    def scopes(self) -> frozenset[str]:
        """Every scope that grants the route.

        Any one of them suffices; a route that declares none accepts any valid
        token.
        """
        return frozenset(self.classic_scopes + self.granular_scopes)

    @property
    def required_scopes(self) -> tuple[str, ...]:
        """The scopes a 4711 error names: the granular admin scopes.

        A route with no granular scopes names its classic scopes instead.
        """
        admin = tuple(
            scope for scope in self.granular_scopes if scope.endswith(":admin")
        )
        return admin or self.granular_scopes or self.classic_scopes

    def match(self, path: str) -> dict[str, str] | None:
        """Return the raw path parameters if ``path`` fits the template, else None."""
        parts = path.split("/")
        pattern = self.template.split("/")
        if len(parts) != len(pattern):
            return None
        params: dict[str, str] = {}
        for part, expected in zip(parts, pattern, strict=True):
            if expected.startswith("{") and expected.endswith("}"):
                if not part:
                    return None
                params[expected[1:-1]] = part
            elif part != expected:
                return None
        return params


@dataclass(frozen=True)
class _MissingUnder:
    prefix: str
    code: int
    message: str


class RouteTable:
    """An ordered set of routes, plus the 404 responses for paths no route matches."""

    def __init__(self) -> None:
        self._routes: list[Route] = []
        self._missing: list[_MissingUnder] = []

    def __iter__(self) -> Iterator[Route]:
        return iter(list(self._routes))

    def copy(self) -> RouteTable:
        """Return a new table with the same routes, to extend without side effects."""
        table = RouteTable()
        table._routes = list(self._routes)
        table._missing = list(self._missing)
        return table

    def add(self, route: Route) -> None:
        """Add a route; a second route with the same method and template is an error."""
        for existing in self._routes:
            if (existing.method, existing.template) == (route.method, route.template):
                message = f"Route {route.method} {route.template} is already registered"
                raise ValueError(message)
        self._routes.append(route)

    def get(
        self,
        template: str,
        *,
        category: str,
        classic_scopes: tuple[str, ...],
        granular_scopes: tuple[str, ...],
        page_size_max: int | None = None,
        query_defaults: Mapping[str, str] | None = None,
    ) -> Callable[[Handler], Handler]:
        """Register the decorated function as the handler of a GET route."""

        def register(handler: Handler) -> Handler:
            route = Route(
                method="GET",
                template=template,
                category=category,
                classic_scopes=classic_scopes,
                granular_scopes=granular_scopes,
                handler=handler,
                page_size_max=page_size_max,
                query_defaults=dict(query_defaults or {}),
            )
            self.add(route)
            return handler

        return register

    def missing_under(self, prefix: str, code: int, message: str) -> None:
        """Respond 404 with a Zoom code to unmatched paths under ``prefix``.

        Args:
            prefix: Raw path prefix, e.g. "/v2/past_meetings/".
            code: Zoom error code of the response.
            message: Message template; ``{rest}`` is the decoded path after the
                prefix.
        """
        self._missing.append(_MissingUnder(prefix, code, message))

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """Return the route for a request and its raw path parameters.

        Raises:
            ApiError: 405 when the path exists for other methods only, 404 when
                no route matches.
        """
        allowed: list[str] = []
        for route in self._routes:
            params = route.match(path)
            if params is None:
                continue
            if route.method == method:
                return route, params
            allowed.append(route.method)
        if allowed:
            message = f"Method {method} is not allowed for {path}; use {allowed[0]}."
            raise ApiError(405, 405, message, headers={"Allow": ", ".join(allowed)})
        for missing in self._missing:
            if path.startswith(missing.prefix):
                rest = unquote(path[len(missing.prefix) :])
                raise ApiError(404, missing.code, missing.message.format(rest=rest))
        # NOTE: Zoom's body for an unknown API path is not documented; this one
        # only keeps Zoom's {"code", "message"} shape.
        raise ApiError(404, 404, f"No API route matches {method} {path}.")
