"""What an attacker's read of the scale-out work found, each held by a test: the overload
bound keyed on the whole credential, the metric files' folder, the kept judgements' bound,
and a platform whose metric pages never end."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from paved.catalog.remote import RemoteCatalog
from paved.errors import InputError, RemoteError
from paved.server._observe import MULTIPROCESS_DIR
from paved.server._overload import Bounds, Overload
from paved.server._serve import _metrics_folder
from paved.server.routes.metrics import KeptJudgements

VICTIM = "pvd_0123456789abcdef_"


def test_a_made_up_secret_with_someone_s_token_id_does_not_take_their_slots() -> None:
    released = asyncio.Event()
    reached: list[bytes] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(dict(scope["headers"])[b"authorization"])
        await released.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    bounded = Overload(app, Bounds(process=10, token=1))

    async def call(credential: str) -> int:
        statuses: list[int] = []

        async def send(message: Any) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        async def receive() -> Any:
            return {"type": "http.request", "body": b""}

        scope = {
            "type": "http",
            "path": "/v1/services",
            "headers": [(b"authorization", f"Bearer {credential}".encode())],
        }
        await bounded(scope, receive, send)
        return statuses[0]

    async def main() -> list[int]:
        attacker = asyncio.create_task(call(VICTIM + "made-up"))
        while not reached:
            await asyncio.sleep(0)
        again = await call(VICTIM + "made-up")  # the same credential: its own bound
        victim = asyncio.create_task(call(VICTIM + "the-real-secret"))
        while len(reached) < 2:
            await asyncio.sleep(0)
        released.set()
        return [again, await attacker, await victim]

    assert asyncio.run(main()) == [429, 200, 200]
    assert bounded.per_token == {}  # nothing kept once nothing is in flight


def test_the_metric_files_folder_loses_only_prometheus_client_s_own_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp_path = tmp_path / "metrics"
    tmp_path.mkdir()
    for name in ("paved.db", "platform.db", "counter_12.db", "gauge_livesum_7.db", "notes"):
        (tmp_path / name).write_text("x")
    (tmp_path / "histogram_3.db").mkdir()  # a folder by that name is not a metric file
    (tmp_path / "summary_9.db").symlink_to(tmp_path / "paved.db")
    monkeypatch.setenv(MULTIPROCESS_DIR, str(tmp_path))
    with _metrics_folder():
        left = sorted(os.listdir(tmp_path))
    assert left == ["histogram_3.db", "notes", "paved.db", "platform.db", "summary_9.db"]
    assert (tmp_path / "paved.db").read_text() == "x"


def test_a_metric_files_folder_that_is_not_one_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MULTIPROCESS_DIR, str(tmp_path / "missing"))
    with pytest.raises(InputError, match=r"PROMETHEUS_MULTIPROC_DIR is .* not a folder"):  # noqa: SIM117
        with _metrics_folder():
            pass


class _EmptyStore:
    """A store with no records at one version: every scope is judged, none has a record."""

    def __init__(self) -> None:
        self.reads = 0

    def data_version(self) -> int:
        return 1

    def delivery_records_since(self, **_: object) -> tuple[list[Any], list[Any]]:
        self.reads += 1
        return [], []


def test_kept_judgements_are_bounded_in_scopes_even_when_each_is_empty() -> None:
    kept = KeptJudgements(records=1000, scopes=3)
    store = _EmptyStore()
    end = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    start = end - dt.timedelta(days=30)
    for n in range(50):
        kept.judgement(
            store,  # type: ignore[arg-type]
            environment="prod", team=None, service=f"svc-{n}", incidents=False,
            start=start, end=end,
        )  # fmt: skip
    assert len(kept._kept) == 3
    assert kept._total == 3
    reads = store.reads
    kept.judgement(
        store,  # type: ignore[arg-type]
        environment="prod", team=None, service="svc-49", incidents=False, start=start, end=end,
    )  # fmt: skip
    assert store.reads == reads  # the newest scope is still kept


def test_a_platform_whose_metric_pages_never_end_is_an_error_not_a_hundred_copies() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        page: dict[str, Any] = {
            "environment": "prod", "team": None,
            "window_start": "2026-11-01T00:00:00+00:00", "window_end": "2026-12-01T00:00:00+00:00",
            "total": None, "services": [], "weeks": [], "next_cursor": "same",
        }  # fmt: skip
        return httpx.Response(200, json=page)

    client = httpx.Client(base_url="http://platform.test", transport=httpx.MockTransport(answer))
    catalog = RemoteCatalog("http://platform.test", "pvd_x", client=client)
    with pytest.raises(RemoteError, match="pages do not end"):
        catalog.delivery_metrics()


class _SlowStore(_EmptyStore):
    """Judging takes until the test releases it; the first judgement may fail."""

    def __init__(self, *, fail_first: bool = False) -> None:
        super().__init__()
        self.asked = 0
        self.release = threading.Event()
        self.fail_first = fail_first
        self._count = threading.Lock()

    def data_version(self) -> int:
        with self._count:
            self.asked += 1
        return 1

    def delivery_records_since(self, **_: object) -> tuple[list[Any], list[Any]]:
        with self._count:
            self.reads += 1
            failing = self.fail_first and self.reads == 1
        assert self.release.wait(timeout=60)
        if failing:
            raise RuntimeError("the database went away")
        return [], []


def _ask_at_once(kept: KeptJudgements, store: _SlowStore, count: int) -> list[object]:
    """``count`` threads ask for one scope at once; what each got (or raised)."""
    end = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    got: list[object] = []

    def ask() -> None:
        try:
            found = kept.judgement(
                store,  # type: ignore[arg-type]
                environment="prod", team="team-a", service=None, incidents=False,
                start=end - dt.timedelta(days=30), end=end,
            )  # fmt: skip
        except RuntimeError as exc:
            got.append(exc)
        else:
            got.append(found)

    threads = [threading.Thread(target=ask) for _ in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while store.asked < count and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)  # each is now judging, or waiting for the one that is
    store.release.set()
    for thread in threads:
        thread.join(timeout=60)
    return got


def test_a_scope_asked_for_by_many_at_once_is_judged_once() -> None:
    store = _SlowStore()
    got = _ask_at_once(KeptJudgements(), store, 8)
    assert store.reads == 1
    assert len(got) == 8
    assert all(isinstance(x, tuple) for x in got)


def test_when_the_judgement_being_waited_for_fails_a_waiting_request_judges_again() -> None:
    store = _SlowStore(fail_first=True)
    got = _ask_at_once(KeptJudgements(), store, 4)
    assert store.reads == 2  # the failed one, then one of those that waited
    assert sum(isinstance(x, RuntimeError) for x in got) == 1
    assert sum(isinstance(x, tuple) for x in got) == 3
