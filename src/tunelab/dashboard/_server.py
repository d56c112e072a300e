"""The dashboard's web server: the standard library's threading HTTP server, a JSON API
and a few static files, with safe defaults.

- It binds 127.0.0.1 unless told otherwise; on any other address every request must
  carry the token (a cookie set by opening the printed URL, or ``Authorization: Bearer``).
- The Host header must name the address served (no DNS rebinding of a loopback server).
- Every response forbids inline scripts and styles and anything from elsewhere
  (``Content-Security-Policy: default-src 'self'``); the page writes data through DOM
  text, never as HTML.
- Requests that act (stop) are POSTs of JSON from the same origin.
- Static files come from a fixed list inside the package: no path from a request ever
  reaches the file system.
"""

from __future__ import annotations

import gzip
import hmac
import ipaddress
import json
import re
import socket
import sys
import traceback
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tunelab import analysis
from tunelab.control import NoEngine
from tunelab.dashboard._data import DashboardData
from tunelab.exceptions import StorageError, UserError

COOKIE = "tunelab_token"
"""The cookie that carries the token after the first visit."""

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/app.css": ("app.css", "text/css; charset=utf-8"),
    "/static/vendor/echarts.min.js": ("vendor/echarts.min.js", "text/javascript; charset=utf-8"),
    "/favicon.svg": ("favicon.svg", "image/svg+xml"),
}

_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "[::1]", "::1"}


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or address to bind) stays on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class DashboardServer(ThreadingHTTPServer):
    """Serves one storage's dashboard on ``host:port`` (port 0: a free one)."""

    daemon_threads = True

    def __init__(self, data: DashboardData, host: str, port: int, token: str | None) -> None:
        self.data = data
        self.token = token
        self.bound = host
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), _Handler)

    def host_allowed(self, header: str) -> bool:
        """Whether a request's Host header names this server."""
        name, _, port = header.rpartition(":") if not header.endswith("]") else (header, "", "")
        if not name or port != str(self.server_address[1]):
            return False
        if is_loopback(self.bound):
            return name.lower() in _LOOPBACK_NAMES
        if self.bound in ("0.0.0.0", "::", ""):
            return True
        return name.lower() in {self.bound.lower(), f"[{self.bound.lower()}]"}


_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile(f"^{pattern}$"), name) for method, pattern, name in (
        ("GET", r"/api/experiments", "experiments"),
        ("GET", r"/api/experiments/(\d+)", "experiment"),
        ("GET", r"/api/experiments/(\d+)/jobs", "jobs"),
        ("GET", r"/api/experiments/(\d+)/changes", "changes"),
        ("GET", r"/api/experiments/(\d+)/plot/(\w+)", "plot"),
        ("GET", r"/api/compare", "compare"),
        ("GET", r"/api/jobs/(\d+)", "job"),
        ("GET", r"/api/requests/(\d+)", "request"),
        ("POST", r"/api/experiments/(\d+)/stop", "stop_experiment"),
        ("POST", r"/api/jobs/(\d+)/stop", "stop_job"),
        ("POST", r"/api/jobs/(\d+)/score", "score_job"),
    )]


class _BadRequest(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    server: DashboardServer
    server_version = "tunelab-dashboard"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """Quiet: the dashboard prints its URL, not every request."""

    def do_GET(self) -> None:  # noqa: N802 - the base class's name
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    # Checks ------------------------------------------------------------------------------
    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        if not self.server.host_allowed(self.headers.get("Host", "")):
            return self._text(HTTPStatus.MISDIRECTED_REQUEST, "unknown Host header: open the URL tunelab printed")
        query = parse_qs(url.query)
        if self.server.token and not self._authorized():
            given = query.get("token", [""])[0]
            if method == "GET" and url.path == "/" and hmac.compare_digest(given, self.server.token):
                return self._redirect_with_cookie()
            return self._text(HTTPStatus.UNAUTHORIZED, "token required: open the URL printed by `tunelab dashboard`")
        if method == "POST" and not self._same_origin():
            return self._text(HTTPStatus.FORBIDDEN, "actions need a JSON POST from the dashboard's own page")
        if method == "GET" and url.path in STATIC:
            return self._static(*STATIC[url.path])
        for route_method, pattern, name in _ROUTES:
            match = pattern.match(url.path)
            if match and route_method == method:
                return self._api(getattr(self, f"_api_{name}"), [int(g) if g.isdigit() else g
                                                                  for g in match.groups()], query)
        self._text(HTTPStatus.NOT_FOUND, "not found")

    def _authorized(self) -> bool:
        token = self.server.token or ""
        header = self.headers.get("Authorization", "")
        if header.startswith("Bearer ") and hmac.compare_digest(header[7:], token):
            return True
        for part in self.headers.get("Cookie", "").split(";"):
            key, _, value = part.strip().partition("=")
            if key == COOKIE and hmac.compare_digest(value, token):
                return True
        return False

    def _same_origin(self) -> bool:
        origin = self.headers.get("Origin")
        json_body = self.headers.get("Content-Type", "").split(";")[0].strip() == "application/json"
        return json_body and (origin is None or urlsplit(origin).netloc == self.headers.get("Host"))

    # API ---------------------------------------------------------------------------------
    def _api(self, handler: Callable[..., Any], args: list[Any], query: dict[str, list[str]]) -> None:
        try:
            status, body = HTTPStatus.OK, handler(*args, query=query)
        except _BadRequest as exc:
            status, body = HTTPStatus.BAD_REQUEST, {"error": str(exc)}
        except NoEngine as exc:
            status, body = HTTPStatus.CONFLICT, {"error": str(exc), "no_engine": True}
        except StorageError as exc:
            status, body = HTTPStatus.NOT_FOUND, {"error": str(exc)}
        except UserError as exc:
            status, body = HTTPStatus.BAD_REQUEST, {"error": str(exc)}
        except Exception as exc:  # a bug or a database hiccup: say so, keep serving, log the traceback
            traceback.print_exc(file=sys.stderr)
            status, body = HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"internal error: {exc}"}
        data = json.dumps(body, allow_nan=False, default=str).encode()
        self._send(status, data, "application/json")

    def _api_experiments(self, query: dict[str, list[str]]) -> Any:
        return self.server.data.experiments()

    def _api_experiment(self, experiment_id: int, query: dict[str, list[str]]) -> Any:
        return self.server.data.experiment(experiment_id)

    def _api_jobs(self, experiment_id: int, query: dict[str, list[str]]) -> Any:
        return self.server.data.jobs(experiment_id)

    def _api_changes(self, experiment_id: int, query: dict[str, list[str]]) -> Any:
        return self.server.data.changes(experiment_id, _int(query, "after"))

    def _api_plot(self, experiment_id: int, kind: str, query: dict[str, list[str]]) -> Any:
        if kind not in analysis.KINDS:
            raise _BadRequest(f"plot kind must be one of {', '.join(analysis.KINDS)}")
        return self.server.data.plot(experiment_id, kind)

    def _api_compare(self, query: dict[str, list[str]]) -> Any:
        raw = query.get("ids", [""])[0].split(",")
        if not raw or not all(x.isdigit() for x in raw):
            raise _BadRequest("ids: give experiment ids separated by commas, like ?ids=1,2")
        return self.server.data.compare([int(x) for x in raw])

    def _api_job(self, job_id: int, query: dict[str, list[str]]) -> Any:
        return self.server.data.job(job_id)

    def _api_request(self, request_id: int, query: dict[str, list[str]]) -> Any:
        return self.server.data.request(request_id)

    def _api_stop_experiment(self, experiment_id: int, query: dict[str, list[str]]) -> Any:
        mode = self._body().get("mode", "drain")
        if mode not in ("drain", "cancel"):
            raise _BadRequest(f"mode: must be drain or cancel, got {mode!r}")
        return {"request": self.server.data.stop(experiment_id, None, mode == "cancel")}

    def _api_stop_job(self, job_id: int, query: dict[str, list[str]]) -> Any:
        job = self.server.data.storage.job(job_id)
        return {"request": self.server.data.stop(job.experiment_id, job_id, False)}

    def _api_score_job(self, job_id: int, query: dict[str, list[str]]) -> Any:
        return {"request": self.server.data.score(job_id, self._body().get("value"))}

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(min(length, 65536)) or b"{}")
        except ValueError:
            raise _BadRequest("the request body must be a JSON object") from None
        if not isinstance(body, dict):
            raise _BadRequest("the request body must be a JSON object")
        return body

    # Responses ---------------------------------------------------------------------------
    def _static(self, name: str, kind: str) -> None:
        data = resources.files("tunelab.dashboard").joinpath("static", *name.split("/")).read_bytes()
        self._send(HTTPStatus.OK, data, kind, cache=name.startswith("vendor/"))

    def _text(self, status: HTTPStatus, message: str) -> None:
        self._send(status, (message + "\n").encode(), "text/plain; charset=utf-8")

    def _redirect_with_cookie(self) -> None:
        self.send_response(HTTPStatus.SEE_OTHER)
        self.send_header("Location", "/")
        self.send_header("Set-Cookie", f"{COOKIE}={self.server.token}; HttpOnly; SameSite=Strict; Path=/")
        self._security_headers()
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _security_headers(self) -> None:
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")

    def _send(self, status: HTTPStatus, data: bytes, kind: str, cache: bool = False) -> None:
        gzipped = len(data) > 1024 and "gzip" in self.headers.get("Accept-Encoding", "")
        if gzipped:
            data = gzip.compress(data, compresslevel=5)
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "max-age=86400" if cache else "no-store")
        if gzipped:
            self.send_header("Content-Encoding", "gzip")
        self._security_headers()
        self.end_headers()
        self.wfile.write(data)


def _int(query: dict[str, list[str]], name: str) -> int:
    raw = query.get(name, ["0"])[0]
    if not raw.lstrip("-").isdigit():
        raise _BadRequest(f"{name}: expected a whole number, got {raw!r}")
    return int(raw)
