"""
A fake Microsoft Sentinel REST endpoint on 127.0.0.1, for msticpy's MicrosoftSentinel to talk to.

msticpy finds Azure's Resource Manager through its public ``Azure:
resource_manager_url`` setting: it reads the cloud's endpoints from
``<url>/metadata/endpoints``, which this server answers with the public
cloud's endpoints and itself as ``resourceManager``. So every Sentinel API
call msticpy builds comes here, and no private attribute is touched.

The server checks each bookmark or incident write as Sentinel would see it
(method PUT, the workspace's resource path ending in a GUID, api-version,
bearer token, a body with ``properties``), answers 400 with the reason when
something is wrong, and otherwise 200 with what Sentinel returns (the
resource with its ``name``, the GUID). Every request is recorded.
"""

from __future__ import annotations

import ast
import copy
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_VERSION = "2020-01-01"
TOKEN = "test-token"

_WRITE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.OperationalInsights/workspaces/(?P<ws>[^/]+)"
    r"/providers/Microsoft\.SecurityInsights/(?P<kind>bookmarks|incidents)"
    r"/(?P<guid>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)


def parse_body(text: str) -> tuple[dict[str, Any], str]:
    """
    Read a request body as JSON, or as the Python literal msticpy 3.0.2 sends.

    msticpy writes its request bodies with ``str(dict)`` (single-quoted
    strings); Sentinel's lenient JSON reader takes that. Returns the body
    and which of the two it was ("json" or "python-literal").
    """
    try:
        return json.loads(text), "json"
    except json.JSONDecodeError:
        return ast.literal_eval(text), "python-literal"


class FakeSentinel:
    """The server: `base_url`, the `requests` it saw, `refuse` to fail the Nth write."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.refuse: set[int] = set()  # 1-based numbers of the writes to answer with 400
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base_url = f"http://127.0.0.1:{self._server.server_port}/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeSentinel:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    @property
    def writes(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == "PUT"]

    def metadata(self) -> dict[str, Any]:
        from msticpy.auth.cloud_mappings_offline import cloud_mappings_offline

        endpoints = copy.deepcopy(cloud_mappings_offline["global"])
        endpoints["resourceManager"] = self.base_url
        return endpoints

    def check_write(self, record: dict[str, Any]) -> str:
        """Return what is wrong with a write ("" when it is what Sentinel expects)."""
        if _WRITE.match(record["path"]) is None:
            return f"unexpected path {record['path']}"
        if record["query"].get("api-version") != [API_VERSION]:
            return f"api-version must be {API_VERSION}, got {record['query']}"
        if record["authorization"] != f"Bearer {TOKEN}":
            return "missing or wrong bearer token"
        if not isinstance(record["body"], dict) or not isinstance(
            record["body"].get("properties"), dict
        ):
            return "the body has no properties"
        return ""

    def answer(self, record: dict[str, Any]) -> dict[str, Any]:
        """What Sentinel returns for a created bookmark or incident."""
        found = _WRITE.match(record["path"])
        kind = found["kind"]
        properties = dict(record["body"]["properties"])
        properties["created"] = "2024-04-01T00:00:00Z"
        if kind == "incidents":
            properties["incidentNumber"] = len(self.writes)
        return {
            "id": record["path"],
            "name": found["guid"],
            "etag": '"0300bf09-0000-0000-0000-5c37296e0000"',
            "type": f"Microsoft.SecurityInsights/{kind.capitalize()}",
            "properties": properties,
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _reply(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _record(self, method: str) -> dict[str, Any]:
                parts = urlsplit(self.path)
                size = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(size).decode("utf-8") if size else ""
                body, form = parse_body(raw) if raw else (None, "")
                record = {
                    "method": method,
                    "path": parts.path,
                    "query": parse_qs(parts.query),
                    "authorization": self.headers.get("Authorization"),
                    "raw": raw,
                    "body": body,
                    "format": form,
                }
                fake.requests.append(record)
                return record

            def do_GET(self) -> None:
                record = self._record("GET")
                if record["path"] == "/metadata/endpoints":
                    self._reply(200, fake.metadata())
                else:
                    self._reply(404, {"error": {"code": "NotFound", "message": self.path}})

            def do_PUT(self) -> None:
                record = self._record("PUT")
                problem = fake.check_write(record)
                if not problem and len(fake.writes) in fake.refuse:
                    problem = "refused by the test"
                if problem:
                    self._reply(400, {"error": {"code": "BadRequest", "message": problem}})
                else:
                    self._reply(200, fake.answer(record))

        return Handler
