"""The load scenario `inv load` runs with Locust: a reader-heavy docstore user.

Per user: one upload at start, then mostly reads (list, metadata, content) with an
occasional upload and delete of its own documents. Each user removes what it created at
the end. A 429 from nginx's per-client rate limit is a failure (users see it) but is
named separately. The run stops itself after SHIPYARD_LOAD_MAX_REQUESTS requests.
"""

from __future__ import annotations

import os
import random
import uuid
from typing import Any

from locust import HttpUser, between, events, stats, task
from locust.clients import ResponseContextManager
from locust.env import Environment

# Percentiles written to the CSV files: Locust's defaults plus those the thresholds need.
_extra = [float(p) for p in os.environ.get("SHIPYARD_LOAD_PERCENTILES", "").split(",") if p]
stats.PERCENTILES_TO_REPORT = sorted({*stats.PERCENTILES_TO_REPORT, *(p / 100 for p in _extra)})
# The history CSV (the live progress line of `inv load`) is written this often.
stats.CSV_STATS_INTERVAL_SEC = 2
MAX_REQUESTS = int(os.environ.get("SHIPYARD_LOAD_MAX_REQUESTS", "100000"))
THROTTLED = "429 throttled by the per-client rate limit"
PAYLOAD = os.urandom(4096)


_environment: Environment | None = None


@events.request.add_listener
def _stop_at_the_request_cap(**_kwargs: object) -> None:
    runner = _environment.runner if _environment else None
    if runner is not None and runner.stats.total.num_requests >= MAX_REQUESTS:
        runner.quit()


@events.init.add_listener
def _remember(environment: Environment, **_kwargs: object) -> None:
    global _environment
    _environment = environment


class DocstoreUser(HttpUser):
    """Reads far more than it writes, like the people using a document store."""

    wait_time = between(0.1, 0.4)

    def on_start(self) -> None:
        self.mine: list[str] = []
        self._upload()

    def on_stop(self) -> None:
        for document_id in self.mine:
            self._call("DELETE", f"/documents/{document_id}", "/documents/[id]", (204, 404))

    def _call(
        self, method: str, path: str, name: str, ok: tuple[int, ...], **kwargs: Any
    ) -> ResponseContextManager:
        with self.client.request(
            method, path, name=name, catch_response=True, **kwargs
        ) as response:
            if response.status_code == 429:
                response.failure(THROTTLED)
            elif response.status_code not in ok:
                response.failure(f"{response.status_code} from {name}")
            else:
                response.success()
            called: ResponseContextManager = response
            return called

    def _upload(self) -> None:
        response = self._call(
            "POST",
            "/documents",
            "/documents [upload]",
            (201,),
            params={"title": f"load-{uuid.uuid4().hex[:8]}"},
            data=PAYLOAD,
            headers={"Content-Type": "application/octet-stream"},
        )
        if response.status_code == 201:
            self.mine.append(response.json()["id"])

    @task(6)
    def list_documents(self) -> None:
        self._call("GET", "/documents?limit=20", "/documents [list]", (200,))

    @task(4)
    def read_metadata(self) -> None:
        if self.mine:
            document_id = random.choice(self.mine)  # noqa: S311 - not a secret
            self._call("GET", f"/documents/{document_id}", "/documents/[id]", (200,))

    @task(3)
    def read_content(self) -> None:
        if self.mine:
            document_id = random.choice(self.mine)  # noqa: S311 - not a secret
            self._call(
                "GET", f"/documents/{document_id}/content", "/documents/[id]/content", (200,)
            )

    @task(1)
    def upload(self) -> None:
        self._upload()

    @task(1)
    def delete_one(self) -> None:
        if len(self.mine) > 1:
            document_id = self.mine.pop(0)
            self._call("DELETE", f"/documents/{document_id}", "/documents/[id]", (204,))
