"""A small local server that speaks OpenAI's files and fine-tuning endpoints, for tests of the
hosted fine-tuning path through the official `openai` SDK over real HTTP on 127.0.0.1.

This is the one place a fake stands in, at the edge of a paid remote API. A job goes
`validating_files` -> `running` (one training step per poll) -> `succeeded` (or `failed`
when the server is told to fail it), and its events carry the step and training loss.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

Answer = tuple[int, dict[str, Any]]


@dataclass
class Job:
    """One fine-tuning job as the fake server keeps it."""

    id: str
    model: str
    training_file: str
    validation_file: str | None
    hyperparameters: dict[str, Any]
    suffix: str
    steps: int
    polls: int = 0
    status: str = "validating_files"
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FakeOpenAIFineTuning:
    """The server: uploaded files, jobs, and how jobs end (`fail_with` a message)."""

    steps: int = 3
    fail_with: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)
    authorizations: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        """The `/v1` URL the SDK talks to."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAIFineTuning:
        handler = _handler(self)
        with contextlib.closing(socket.socket()) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    # -- the API -------------------------------------------------------------------------

    def upload(self, name: str, body: bytes) -> dict[str, Any]:
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = body
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(body),
            "created_at": 0,
            "filename": name,
            "purpose": "fine-tune",
            "status": "processed",
        }

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        for key in ("training_file", "validation_file"):
            if body.get(key) and body[key] not in self.files:
                raise LookupError(f"no file {body[key]}")
        job = Job(
            id=f"ftjob-{len(self.jobs) + 1}",
            model=body["model"],
            training_file=body["training_file"],
            validation_file=body.get("validation_file"),
            hyperparameters=body.get("hyperparameters") or {},
            suffix=body.get("suffix") or "",
            steps=self.steps,
        )
        self.jobs[job.id] = job
        return self.describe(job)

    def poll(self, job: Job) -> dict[str, Any]:
        """Each poll moves a job one step on."""
        job.polls += 1
        if job.status == "validating_files":
            job.status = "running"
        elif job.status == "running":
            step = len(job.events) + 1
            job.events.append(
                {
                    "id": f"ev-{step}",
                    "object": "fine_tuning.job.event",
                    "created_at": step,
                    "level": "info",
                    "message": f"Step {step}/{job.steps}",
                    "type": "metrics",
                    "data": {"step": step, "train_loss": 2.0 / step},
                }
            )
            if step >= job.steps:
                job.status = "failed" if self.fail_with else "succeeded"
        return self.describe(job)

    def describe(self, job: Job) -> dict[str, Any]:
        done = job.status == "succeeded"
        error = {"code": "invalid_training_file", "message": self.fail_with, "param": None}
        return {
            "id": job.id,
            "object": "fine_tuning.job",
            "created_at": 0,
            "model": job.model,
            "organization_id": "org-test",
            "status": job.status,
            "training_file": job.training_file,
            "validation_file": job.validation_file,
            "hyperparameters": {"n_epochs": job.hyperparameters.get("n_epochs", "auto")},
            "result_files": [],
            "seed": 0,
            "fine_tuned_model": f"ft:{job.model}:test:{job.suffix}:{job.id}" if done else None,
            "trained_tokens": 1234 if done else None,
            "finished_at": 1 if job.status in ("succeeded", "failed") else None,
            "error": error if job.status == "failed" else None,
        }


Route = Callable[[FakeOpenAIFineTuning, re.Match[str], bytes, str], tuple[int, dict[str, Any]]]


def _upload(fake: FakeOpenAIFineTuning, match: re.Match[str], body: bytes, kind: str) -> Answer:
    return 200, fake.upload(*_multipart_file(kind, body))


def _create(fake: FakeOpenAIFineTuning, match: re.Match[str], body: bytes, kind: str) -> Answer:
    try:
        return 200, fake.create(json.loads(body))
    except LookupError as error:
        return 400, {"error": {"message": str(error), "type": "invalid"}}


def _cancel(fake: FakeOpenAIFineTuning, match: re.Match[str], body: bytes, kind: str) -> Answer:
    job = fake.jobs[match.group(1)]
    job.status = "cancelled"
    return 200, fake.describe(job)


def _retrieve(fake: FakeOpenAIFineTuning, match: re.Match[str], body: bytes, kind: str) -> Answer:
    job = fake.jobs.get(match.group(1))
    if job is None:
        return 404, {"error": {"message": "no such job", "type": "invalid"}}
    return 200, fake.poll(job)


def _events(fake: FakeOpenAIFineTuning, match: re.Match[str], body: bytes, kind: str) -> Answer:
    events = list(reversed(fake.jobs[match.group(1)].events))
    return 200, {"object": "list", "data": events, "has_more": False}


ROUTES: list[tuple[str, re.Pattern[str], Route]] = [
    ("POST", re.compile(r"/v1/files"), _upload),
    ("POST", re.compile(r"/v1/fine_tuning/jobs"), _create),
    ("POST", re.compile(r"/v1/fine_tuning/jobs/([^/]+)/cancel"), _cancel),
    ("GET", re.compile(r"/v1/fine_tuning/jobs/([^/]+)"), _retrieve),
    ("GET", re.compile(r"/v1/fine_tuning/jobs/([^/]+)/events"), _events),
]


def _handler(fake: FakeOpenAIFineTuning) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _answer(self, method: str) -> None:
            fake.authorizations.append(self.headers.get("authorization", ""))
            path = self.path.split("?")[0]
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            status, answer = 404, {"error": {"message": "not found", "type": "invalid"}}
            for verb, pattern, route in ROUTES:
                match = pattern.fullmatch(path)
                if verb == method and match:
                    status, answer = route(fake, match, body, self.headers.get("content-type", ""))
                    break
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            self._answer("POST")

        def do_GET(self) -> None:
            self._answer("GET")

    return Handler


def _multipart_file(content_type: str, body: bytes) -> tuple[str, bytes]:
    """The uploaded file's name and bytes from a multipart/form-data body."""
    boundary = content_type.rsplit("boundary=", maxsplit=1)[-1].strip('"').encode()
    for part in body.split(b"--" + boundary):
        head, _, content = part.partition(b"\r\n\r\n")
        found = re.search(rb'name="file"; filename="([^"]+)"', head)
        if found:
            return found.group(1).decode(), content.rstrip(b"\r\n")
    raise ValueError("no file part in the upload")
