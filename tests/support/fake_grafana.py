"""A local stand-in for Grafana's HTTP API that checks each request as Grafana's documented
API does (auth, JSON bodies, required fields, uid conflicts, folder existence) and keeps
what was uploaded. Grafana itself cannot run here."""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeGrafana:
    def __init__(self, token: str) -> None:
        self.token = token
        self.datasources: dict[str, dict[str, Any]] = {}
        self.folders: dict[str, dict[str, Any]] = {}
        self.dashboards: dict[
            str, dict[str, Any]
        ] = {}  # uid -> {"dashboard", "folderUid", "version"}
        self.requests: list[tuple[str, str]] = []
        self.refused: list[str] = []
        self._lock = threading.Lock()

    def handle(
        self, method: str, path: str, headers: Any, body: bytes
    ) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append((method, path))
            if headers.get("Authorization") != f"Bearer {self.token}":
                return self._refuse(401, "Unauthorized")
            payload: Any = None
            if method in ("POST", "PUT"):
                if not headers.get("Content-Type", "").startswith("application/json"):
                    return self._refuse(415, "Content-Type must be application/json")
                try:
                    payload = json.loads(body)
                except ValueError:
                    return self._refuse(400, "bad request data")
            return self._route(method, path, payload)

    def _refuse(self, status: int, message: str) -> tuple[int, dict[str, Any]]:
        self.refused.append(f"{status} {message}")
        return status, {"message": message}

    def _route(self, method: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        if path.startswith("/api/datasources"):
            return self._datasource_route(method, path, body)
        if match := re.fullmatch(r"/api/folders/([\w-]+)", path):
            folder = self.folders.get(match.group(1))
            return (200, folder) if folder else (404, {"message": "folder not found"})
        if path == "/api/folders" and method == "POST":
            if not body.get("title"):
                return self._refuse(400, "folder title cannot be empty")
            if body.get("uid") in self.folders:
                return self._refuse(409, "a folder with the same uid already exists")
            self.folders[body["uid"]] = {"uid": body["uid"], "title": body["title"],
                                         "id": len(self.folders) + 1}  # fmt: skip
            return 200, self.folders[body["uid"]]
        if path == "/api/dashboards/db" and method == "POST":
            return self._save_dashboard(body)
        return self._refuse(404, f"no route {method} {path}")

    def _datasource_route(self, method: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        if match := re.fullmatch(r"/api/datasources/uid/([\w-]+)", path):
            uid = match.group(1)
            if uid not in self.datasources:
                return 404, {"message": "Data source not found"}
            if method == "GET":
                return 200, self.datasources[uid]
            if method == "PUT":
                if problem := self._datasource_problem(body):
                    return self._refuse(400, problem)
                self.datasources[uid] = {**body, "id": self.datasources[uid]["id"], "uid": uid}
                return 200, {"message": "Datasource updated", "id": self.datasources[uid]["id"]}
        if path == "/api/datasources" and method == "POST":
            if problem := self._datasource_problem(body):
                return self._refuse(400, problem)
            if body["uid"] in self.datasources or any(
                d["name"] == body["name"] for d in self.datasources.values()
            ):
                return self._refuse(409, "data source with the same name or uid already exists")
            added = {**body, "id": len(self.datasources) + 1}
            self.datasources[body["uid"]] = added
            return 200, {"message": "Datasource added", "id": added["id"], "name": body["name"],
                         "datasource": added}  # fmt: skip
        return self._refuse(404, f"no route {method} {path}")

    @staticmethod
    def _datasource_problem(body: Any) -> str:
        missing = [k for k in ("name", "type", "access", "url", "uid") if not body.get(k)]
        return f"missing {', '.join(missing)}" if missing else ""

    def _save_dashboard(self, body: Any) -> tuple[int, dict[str, Any]]:
        model = body.get("dashboard")
        if not isinstance(model, dict) or not model.get("title") or not model.get("uid"):
            return self._refuse(400, "dashboard title and uid are required")
        if body.get("folderUid") not in self.folders:
            return self._refuse(400, "folder not found")
        existing = self.dashboards.get(model["uid"])
        if existing and not body.get("overwrite") and model.get("id") is None:
            return self._refuse(412, "A dashboard with the same uid already exists")
        version = existing["version"] + 1 if existing else 1
        self.dashboards[model["uid"]] = {"dashboard": model, "folderUid": body["folderUid"],
                                         "version": version}  # fmt: skip
        return 200, {"id": list(self.dashboards).index(model["uid"]) + 1, "uid": model["uid"],
                     "status": "success", "version": version,
                     "url": f"/d/{model['uid']}/{model['uid']}"}  # fmt: skip

    @contextlib.contextmanager
    def running(self) -> Iterator[str]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                status, answer = fake.handle(self.command, self.path.split("?")[0],
                                             self.headers, self.rfile.read(length))  # fmt: skip
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _answer  # noqa: N815 - http.server's names

            def log_message(self, *_args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join()
