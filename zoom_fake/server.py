"""FakeZoom: an HTTP server on loopback that responds like Zoom's OAuth and API v2."""

from __future__ import annotations

import contextlib
import logging
import math
import random
import secrets
import socket
import socketserver
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from zoom_fake.account import Account, AccountSpec
from zoom_fake.base import ApiError, OAuthError, Response, zoom_error_code
from zoom_fake.faults import Fault, FaultBook
from zoom_fake.oauth import Credentials, TokenStore, token_response
from zoom_fake.paging import (
    Page,
    PageTokens,
    binding_for,
    parse_page_size,
    validation_failed,
)
from zoom_fake.ratelimit import RateLimiter, RateStats
from zoom_fake.router import ApiRequest, Route, RouteTable
from zoom_fake.routes import ROUTES

logger = logging.getLogger("zoom_fake")

# Credentials of the demo account. They are public: they open this emulator only.
DEMO_ACCOUNT_ID = "demoAcct_zoomFake000001"
DEMO_CLIENT_ID = "demoClient_zoomFake0001"
DEMO_CLIENT_SECRET = "demo-secret-zoom-fake-not-for-real-use"

TOKEN_PATH = "/oauth/token"
MAX_BODY_BYTES = 1 << 20
PLANS = ("free", "pro", "business")

# Errors a client can cause by going away mid-response; they are not server bugs.
_DISCONNECTS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


@dataclass(frozen=True)
class RequestRecord:
    """One request the emulator responded to.

    Attributes:
        method: HTTP method.
        path: Raw request path without the query string.
        query: Query parameters as sent (the last value of a repeated name).
        status: HTTP status sent, or None when the connection was reset.
        token: The bearer token presented, or None.
        code: Zoom error code in the response body, or None.
    """

    method: str
    path: str
    query: dict[str, str]
    status: int | None
    token: str | None = field(repr=False)
    code: int | None


@dataclass(frozen=True)
class _Call:
    method: str
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]
    body: bytes
    token: str | None


class _BadRequest(Exception):
    """The request's framing is broken, so respond with an error and close."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class FakeZoom:
    """A Zoom emulator: the S2S OAuth token endpoint and REST API v2 on loopback.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`::

        with FakeZoom(account=AccountSpec(active_users=500)) as fake:
            requests.post(fake.token_url, ...)

    Args:
        account: Sizes and seed of the generated account.
        account_id: Account id the token endpoint accepts.
        client_id: Client id the token endpoint accepts.
        client_secret: Client secret the token endpoint accepts.
        token_lifetime: Seconds an access token lives, sent as expires_in.
        page_token_ttl: Seconds a next_page_token stays valid.
        latency: Seconds added before every response, the token endpoint's
            included.
        latency_jitter: Up to this many more seconds added before every
            response, drawn uniformly by a generator seeded with
            ``latency_seed``. The sequence of draws is repeatable, but which
            request gets which draw depends on thread timing.
        latency_seed: Seed of the jitter draws.
        scopes: Scopes granted to tokens; None grants every scope the routes
            need.
        api_url: The api_url of token responses; None means :attr:`url`. Kept
            as the public attribute ``api_url``, which may be changed while the
            emulator runs.
        clock: Wall clock, in seconds since the epoch, for token and page-token
            expiry. It also sets the account's default anchor and decides which
            meetings, recordings and log entries have happened.
        host: Address to listen on.
        port: Port to listen on; 0 picks a free one.
        plan: The account's plan: "business" (the default), "pro" or "free".
            Reports, recordings and groups respond with code 200 on "free",
            and dashboards need "business".
        dashboards: Whether the Dashboard feature is enabled; without it
            ``/metrics/*`` returns code 200.
        enforce_limits: Whether to enforce Zoom's rate limits for ``plan``:
            per-second (Resource-intensive: per-minute) and daily limits per
            category, counted on ``clock`` and rejected with 429. Off, every
            response carries Business per-second figures counted on the
            monotonic clock and nothing is rejected.
        speedup: Factor by which time runs faster for rate limiting: every
            window and UTC day lasts ``1 / speedup`` as long on ``clock``, so
            ``speedup`` times as many requests pass per clock second. Token
            expiry, latency and the account do not change. See
            :mod:`zoom_fake.ratelimit`.
        record_requests: Whether to keep a :class:`RequestRecord` of every
            request in :attr:`requests`. Turn it off to keep memory flat in
            long runs.
    """

    routes: RouteTable = ROUTES
    """The routes served; a subclass may set an extended ``ROUTES.copy()``."""

    def __init__(
        self,
        account: AccountSpec | None = None,
        *,
        account_id: str = DEMO_ACCOUNT_ID,
        client_id: str = DEMO_CLIENT_ID,
        client_secret: str = DEMO_CLIENT_SECRET,
        token_lifetime: float = 3599,
        page_token_ttl: float = 900,
        latency: float = 0.0,
        scopes: Iterable[str] | None = None,
        api_url: str | None = None,
        clock: Callable[[], float] = time.time,
        host: str = "127.0.0.1",
        port: int = 0,
        plan: str = "business",
        dashboards: bool = True,
        enforce_limits: bool = False,
        speedup: float = 1.0,
        latency_jitter: float = 0.0,
        latency_seed: int = 0,
        record_requests: bool = True,
    ) -> None:
        if plan not in PLANS:
            message = f"plan must be one of {', '.join(PLANS)}; got {plan!r}"
            raise ValueError(message)
        _check_seconds("latency", latency)
        _check_seconds("latency_jitter", latency_jitter)
        self.account_id = account_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.plan = plan
        self.dashboards = dashboards
        self.account = Account(account or AccountSpec(), account_id, clock=clock)
        self.latency = latency
        self.latency_jitter = latency_jitter
        self._jitter_random = random.Random(latency_seed)
        self._jitter_lock = threading.Lock()
        self.record_requests = record_requests
        self._host = host
        self._port = port
        self.api_url = api_url
        granted = self.default_scopes() if scopes is None else list(scopes)
        self._tokens = TokenStore(clock, token_lifetime, granted)
        self._pages = PageTokens(clock, page_token_ttl)
        self._faults = FaultBook()
        self._limiter = _rate_limiter(plan, enforce_limits, speedup, clock)
        self._records: list[RequestRecord] = []
        self._records_lock = threading.Lock()
        self._lifecycle_lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "not running"
        return f"FakeZoom({where}, account_id={self.account_id!r})"

    def __enter__(self) -> FakeZoom:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @classmethod
    def default_scopes(cls) -> list[str]:
        """Return the scopes that grant every route: each one's granular admin scope."""
        scopes = {scope for route in cls.routes for scope in route.required_scopes}
        return sorted(scopes)

    # Lifecycle

    def start(self) -> FakeZoom:
        """Bind the socket and serve in a daemon thread.

        Returns:
            This emulator, so ``fake = FakeZoom().start()`` works.

        Raises:
            RuntimeError: It is already running.
            OSError: The address cannot be bound.
        """
        with self._lifecycle_lock:
            if self._server is not None:
                message = f"FakeZoom is already running at {self.url}; stop() it first"
                raise RuntimeError(message)
            self._stopping.clear()
            server = _Server((self._host, self._port), self)
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"zoom-fake-{server.server_address[1]}",
                daemon=True,
            )
            thread.start()
            self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Shut the server down, close open connections and join its thread.

        Pending ``delay`` and ``latency`` waits end at once. Calling it again, or
        before :meth:`start`, does nothing.
        """
        with self._lifecycle_lock:
            server, thread = self._server, self._thread
            if server is None or thread is None:
                return
            self._stopping.set()
            server.shutdown()
            server.close_connections()
            server.server_close()
            thread.join(timeout=5)
            self._server = self._thread = None

    @property
    def host(self) -> str:
        """The address it listens on."""
        return self._host

    @property
    def port(self) -> int:
        """The port it listens on while running; the requested port otherwise."""
        if self._server is None:
            return self._port
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, such as "http://127.0.0.1:PORT"; the API is under /v2."""
        if self._server is None:
            raise RuntimeError("FakeZoom is not running, so it has no URL; start() it")
        host, port = self._server.server_address[:2]
        if ":" in str(host):
            host = f"[{host}]"
        return f"http://{host}:{port}"

    @property
    def token_url(self) -> str:
        """URL of the OAuth token endpoint."""
        return self.url + TOKEN_PATH

    # Test controls

    def add_fault(self, fault: Fault) -> None:
        """Inject a failure into matching requests; see :class:`Fault`."""
        self._faults.add(fault)

    def clear_faults(self) -> None:
        """Remove every fault."""
        self._faults.clear()

    def revoke_tokens(self) -> None:
        """Invalidate every token issued so far; their next use gets code 124."""
        self._tokens.revoke_all()

    @property
    def enforce_limits(self) -> bool:
        """Whether requests over a rate limit get a 429 response."""
        return self._limiter.enforce

    @property
    def speedup(self) -> float:
        """Factor by which time runs faster for rate limiting."""
        return self._limiter.speedup

    def rate_stats(self) -> dict[str, RateStats]:
        """Return the counts of API requests and 429 rejections per category.

        Every category is present, with zero counts if it has had no requests.
        Token requests, requests for unknown paths and requests without a
        valid access token are not counted.
        """
        return self._limiter.stats()

    @property
    def requests(self) -> list[RequestRecord]:
        """A copy of the records of the requests served so far, oldest first.

        It stays empty while ``record_requests`` is False.
        """
        with self._records_lock:
            return list(self._records)

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        with self._records_lock:
            self._records.clear()

    # Serving

    def serve(self, handler: _Handler) -> None:
        """Respond to one request on a handler thread.

        An exception in a route handler or fault becomes a logged 500 response.
        """
        try:
            call = _read_call(handler)
        except _BadRequest as error:
            handler.close_connection = True
            response = ApiError(error.status, error.status, error.message).response()
            _send(handler, response, response.encode())
            return
        try:
            response = self._build_response(call)
            encoded = None if response is None else response.encode()
        except Exception:
            logger.exception(
                "zoom_fake failed to respond to %s %s", call.method, call.path
            )
            message = "The Zoom emulator failed; its log has the traceback."
            response = ApiError(500, 500, message).response()
            response.headers.update(_tracking_header())
            encoded = response.encode()
        # The record is stored before the response is sent, so a client that has
        # its response always finds the request in FakeZoom.requests.
        if response is None or encoded is None:
            self._record(call, None, None)
            _reset_connection(handler)
            return
        self._record(call, response.status, zoom_error_code(response.body))
        _send(handler, response, encoded)

    def _build_response(self, call: _Call) -> Response | None:
        """Return the response to a request, or None to reset the connection."""
        self._pause(self._response_delay())
        fault = self._faults.take(call.method, call.path)
        if fault is None:
            return self._respond(call)
        self._pause(fault.delay)
        if fault.reset:
            return None
        if fault.status is None:
            response = self._respond(call)
        else:
            response = Response(fault.status, fault.body, self._standard_headers(call))
        _replace_headers(response.headers, fault.headers)
        return response

    def _respond(self, call: _Call) -> Response:
        if call.path == TOKEN_PATH:
            return self._token_endpoint(call)
        return self._api(call)

    def _token_endpoint(self, call: _Call) -> Response:
        if call.method != "POST":
            reason = f"Method {call.method} is not allowed; use POST"
            body = {"reason": reason, "error": "invalid_request"}
            return Response(405, body, {"Allow": "POST"})
        credentials = Credentials(self.account_id, self.client_id, self.client_secret)
        try:
            return token_response(
                query=call.query,
                headers=call.headers,
                body=call.body,
                credentials=credentials,
                store=self._tokens,
                api_url=self.api_url or self.url,
            )
        except OAuthError as error:
            return error.response()

    def _api(self, call: _Call) -> Response:
        headers = _tracking_header()
        try:
            route, params = self.routes.resolve(call.method, call.path)
            # Zoom counts requests per account, so a request without a valid
            # token is not counted. It still gets the category's headers.
            headers.update(self._limiter.peek(route.category))
            grant = self._tokens.check(call.token)
            headers.update(self._limiter.admit(route.category))
            if route.scopes and not grant.scopes & route.scopes:
                missing = ",".join(route.required_scopes)
                message = f"Invalid access token, does not contain scopes:[{missing}]."
                raise ApiError(400, 4711, message)
            result = route.handler(self._api_request(route, params, call))
            response = result if isinstance(result, Response) else Response(200, result)
        except ApiError as error:
            response = error.response()
        response.headers = {**headers, **response.headers}
        return response

    def _api_request(
        self, route: Route, params: dict[str, str], call: _Call
    ) -> ApiRequest:
        query = {**route.query_defaults, **call.query}
        page = None
        if route.page_size_max is not None:
            page = self._page(route.page_size_max, call, query)
        return ApiRequest(
            method=call.method,
            path=call.path,
            query=query,
            params=params,
            account=self.account,
            page=page,
            plan=self.plan,
            dashboards=self.dashboards,
        )

    def _page(self, maximum: int, call: _Call, query: dict[str, str]) -> Page:
        """Return the requested page; the token must match this very request."""
        size = parse_page_size(query, maximum)
        identity = dict(query)
        identity.pop("next_page_token", None)
        identity["page_size"] = str(size)
        binding = binding_for(call.method, call.path, identity)
        token = query.get("next_page_token", "")
        if token:
            offset = self._pages.offset(token, binding)
        else:
            offset = (_page_number(query) - 1) * size
        return Page(offset=offset, size=size, binding=binding, tokens=self._pages)

    def _standard_headers(self, call: _Call) -> dict[str, str]:
        """Return the headers every response to this path carries."""
        if call.path == TOKEN_PATH:
            return {}
        headers = _tracking_header()
        try:
            route, _ = self.routes.resolve(call.method, call.path)
        except ApiError:
            return headers
        headers.update(self._limiter.count(route.category))
        return headers

    def _response_delay(self) -> float:
        """Return the latency plus a jitter draw for one response, in seconds."""
        if self.latency_jitter <= 0:
            return self.latency
        with self._jitter_lock:
            jitter = self._jitter_random.uniform(0, self.latency_jitter)
        return self.latency + jitter

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    def _record(self, call: _Call, status: int | None, code: int | None) -> None:
        if not self.record_requests:
            return
        record = RequestRecord(
            method=call.method,
            path=call.path,
            query=dict(call.query),
            status=status,
            token=call.token,
            code=code,
        )
        with self._records_lock:
            self._records.append(record)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ZoomFake/1.0"
    # Headers and body go out in separate writes; with Nagle's algorithm the
    # second waits for the client's delayed ACK, about 40 ms per response.
    disable_nagle_algorithm = True
    server: _Server

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self.server.fake.serve(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    """A threading HTTP server that can also close its open keep-alive connections."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], fake: FakeZoom) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.fake = fake
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host name up with getfqdn, which can
        # wait on DNS; the emulator does not need the name.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut every open connection so its handler thread ends."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (*_DISCONNECTS, TimeoutError)):
            logger.debug("zoom_fake client %s went away", client_address)
            return
        logger.exception("zoom_fake connection from %s failed", client_address)


def _rate_limiter(
    plan: str, enforce: bool, speedup: float, clock: Callable[[], float]
) -> RateLimiter:
    if enforce:
        return RateLimiter(plan, enforce=True, speedup=speedup, clock=clock)
    # Without enforcement the headers carry the Business per-second limits
    # whatever the plan, counted in windows of the monotonic clock, so a frozen
    # test clock never drives X-RateLimit-Remaining to 0.
    return RateLimiter("business", enforce=False, speedup=speedup, clock=time.monotonic)


def _check_seconds(name: str, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        message = (
            f"{name} must be a finite number of seconds of 0 or more; got {value!r}"
        )
        raise ValueError(message)


def _read_call(handler: _Handler) -> _Call:
    target = handler.path
    if "://" in target.split("?", 1)[0]:
        parts = urlsplit(target)
        target = parts.path + ("?" + parts.query if parts.query else "")
    path, _, query_string = target.partition("?")
    return _Call(
        method=handler.command,
        path=path,
        query=dict(parse_qsl(query_string, keep_blank_values=True)),
        headers=_HeaderView(handler.headers),
        body=_read_body(handler),
        token=_bearer_token(handler.headers.get("Authorization")),
    )


class _HeaderView(Mapping[str, str]):
    """Case-insensitive read access to request headers."""

    def __init__(self, message: Any) -> None:
        self._message = message

    def __getitem__(self, name: str) -> str:
        value = self._message.get(name)
        if value is None:
            raise KeyError(name)
        return str(value)

    def __iter__(self) -> Any:
        return iter(self._message.keys())

    def __len__(self) -> int:
        return len(self._message)


def _read_body(handler: _Handler) -> bytes:
    length = handler.headers.get("Content-Length")
    if length is not None:
        try:
            size = int(length)
        except ValueError:
            raise _BadRequest(400, f"Invalid Content-Length: {length!r}.") from None
        if size < 0:
            raise _BadRequest(400, f"Invalid Content-Length: {length!r}.")
        if size > MAX_BODY_BYTES:
            raise _BadRequest(413, f"Request body over {MAX_BODY_BYTES} bytes.")
        return handler.rfile.read(size)
    encoding = (handler.headers.get("Transfer-Encoding") or "").lower()
    if "chunked" in encoding:
        return _read_chunked(handler)
    return b""


def _read_chunked(handler: _Handler) -> bytes:
    body = bytearray()
    while True:
        line = handler.rfile.readline(1024)
        try:
            size = int(line.split(b";")[0].strip(), 16)
        except ValueError:
            raise _BadRequest(400, "Invalid chunk size in a chunked body.") from None
        if size == 0:
            break
        if len(body) + size > MAX_BODY_BYTES:
            raise _BadRequest(413, f"Request body over {MAX_BODY_BYTES} bytes.")
        body += handler.rfile.read(size)
        handler.rfile.readline(1024)
    # Trailer fields end with an empty line; at most a few are expected.
    for _ in range(100):
        if handler.rfile.readline(1024) in (b"\r\n", b"\n", b""):
            break
    return bytes(body)


def _bearer_token(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _page_number(query: Mapping[str, str]) -> int:
    """Return the deprecated page_number parameter; 1 when absent."""
    text = query.get("page_number", "")
    if not text:
        return 1
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise validation_failed("page_number", "must be an integer of at least 1")
    return number


def _tracking_header() -> dict[str, str]:
    return {"x-zm-trackingid": f"v=2.0;clid=us06;rid=WEB_{secrets.token_hex(16)}"}


def _replace_headers(headers: dict[str, str], updates: Mapping[str, str]) -> None:
    """Set ``updates`` in ``headers``, dropping names that differ only in case."""
    for name, value in updates.items():
        for existing in [key for key in headers if key.lower() == name.lower()]:
            del headers[existing]
        headers[name] = value


def _send(
    handler: _Handler, response: Response, encoded: tuple[bytes, str | None]
) -> None:
    payload, default_type = encoded
    headers = dict(response.headers)
    names = {name.lower() for name in headers}
    if default_type is not None and "content-type" not in names:
        headers["Content-Type"] = default_type
    try:
        handler.send_response(response.status)
        for name, value in headers.items():
            if name.lower() != "content-length":
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)
    except (*_DISCONNECTS, TimeoutError):
        handler.close_connection = True


def _reset_connection(handler: _Handler) -> None:
    """Close the connection with a TCP reset (RST) instead of an orderly FIN."""
    handler.close_connection = True
    connection = handler.connection
    try:
        linger = struct.pack("ii", 1, 0)
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        # The read buffer holds a reference to the socket; the reset is sent only
        # when both are closed.
        handler.rfile.close()
        connection.close()
    except OSError:
        pass
