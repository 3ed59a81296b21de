"""The remote catalog's data resources: requests opened, closed and listed through the
client against the real server over loopback, and every answer read as input."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from paved.catalog import ResourceCatalog, ResourceRequest, resource_catalog
from paved.catalog.remote import RemoteCatalog
from paved.catalog.sqlite import SqliteCatalog
from paved.errors import AuthError, ConflictError, InputError, RemoteError
from paved.models import CatalogEntry, DataResource, LayerRef, Service
from tests.helpers import free_port

T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
ORDERS = DataResource.make("database", "orders", engine="mysql")
UPLOADS = DataResource.make("bucket", "uploads")


def _service(name: str = "payments", owner: str = "team-checkout") -> Service:
    return Service(
        name=name,
        owner=owner,
        description="Takes payments",
        repository=f"https://git.example.com/repos/{name}.git",
        layers=(LayerRef("road", "paved-road", "1.1.0"),),
        created_at=T0,
    )


@contextlib.contextmanager
def _serving(db_url: str) -> Iterator[Callable[[str, str], RemoteCatalog]]:
    """The platform on a loopback port; a client for a user of a team."""
    import uvicorn

    from paved.server import create_app, issue_token
    from tests.server.conftest import CONFIG, Clock

    clock = Clock()
    app = create_app(db_url, clock, CONFIG)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    clients: list[RemoteCatalog] = []

    def client(user: str, team: str) -> RemoteCatalog:
        token = issue_token(
            app.state.engine,
            user=user,
            teams=[team],
            admin=False,
            lifetime=dt.timedelta(days=1),
            now=clock(),
            actor="test",
        ).token
        clients.append(RemoteCatalog(f"http://127.0.0.1:{port}", token))
        return clients[-1]

    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert thread.is_alive(), "the server stopped"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        yield client
    finally:
        for made in clients:
            made.close()
        server.should_exit = True
        thread.join(30)
        app.state.engine.dispose()


def test_requests_through_the_client_over_a_real_socket(db_url: str) -> None:
    with _serving(db_url) as client:
        alice, bob = client("alice", "team-checkout"), client("bob", "team-search")
        erin = client("erin", "team-checkout")
        alice.register(_service())
        found = resource_catalog(alice)
        assert found is alice
        assert isinstance(alice, ResourceCatalog)

        assert alice.request_resource("payments", ORDERS, dry_run=True) is None
        assert alice.resources("payments").requests == ()
        request_id = alice.request_resource("payments", ORDERS, branch="paved/add-orders")
        assert request_id == 1
        with pytest.raises(ConflictError, match="open request for a resource named orders") as c:
            alice.request_resource("payments", DataResource.make("queue", "orders"))
        assert c.value.exit_code == 6
        with pytest.raises(AuthError) as refused:
            bob.request_resource("payments", UPLOADS)
        assert refused.value.exit_code == 4
        with pytest.raises(AuthError, match="made by alice"):
            erin.close_resource_request("payments", 1, "failed")
        with pytest.raises(InputError, match="is not in the catalog"):
            alice.request_resource("nowhere", UPLOADS)

        closed = alice.close_resource_request(
            "payments", 1, "committed", commit="abc1234", detail="added\non main\x1b[0m"
        )
        assert closed == ResourceRequest(
            id=1,
            service="payments",
            resource=ORDERS,
            state="committed",
            branch="paved/add-orders",
            commit="abc1234",
            requested_by="alice",
            created_at=T0,
            updated_at=T0,
            detail="added on main\\u001b[0m",
        )
        with pytest.raises(ConflictError, match="closed already") as twice:
            alice.close_resource_request("payments", 1, "failed")
        assert str(twice.value).endswith("; a closed request stays as it is")
        assert alice.request_resource("payments", UPLOADS) == 2
        listed = bob.resources("payments")
        assert listed.data_resources == ()  # committed on its branch: the entry waits for it
        assert [(r.id, r.state) for r in listed.requests] == [(2, "started"), (1, "committed")]
        stored = bob.get("payments")
        assert stored is not None
        assert stored.catalog.data_resources == ()
        # paved update sends the road's answers: the entry keeps them.
        entry = CatalogEntry(data_resources=(ORDERS, UPLOADS))
        alice.record_layers("payments", stored.layers, catalog=entry)
        assert bob.resources("payments").data_resources == (ORDERS, UPLOADS)


def test_the_local_catalog_keeps_no_requests(tmp_path: Path) -> None:
    local = SqliteCatalog(tmp_path / "catalog.db")
    try:
        assert resource_catalog(local) is None
    finally:
        local.close()


def _request(**changes: Any) -> dict[str, Any]:
    return {
        "id": 1,
        "service": "payments",
        "kind": "database",
        "name": "orders",
        "options": {"engine": "mysql", "size": "small"},
        "state": "started",
        "branch": None,
        "commit": None,
        "requested_by": "alice",
        "created_at": "2025-03-01T12:00:00Z",
        "updated_at": "2025-03-01T12:00:00Z",
        "detail": "",
        **changes,
    }


def _remote(answer: httpx.Response) -> RemoteCatalog:
    def handler(request: httpx.Request) -> httpx.Response:
        return answer

    client = httpx.Client(base_url="http://p", transport=httpx.MockTransport(handler))
    return RemoteCatalog("http://p", "t", client=client, retries=0)


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (httpx.Response(201, text="<html>proxy</html>"), "not JSON"),
        (httpx.Response(201, json=[]), "resource request is not an object"),
        (httpx.Response(201, json=_request(id="1")), "id is not a positive whole number"),
        (httpx.Response(201, json=_request(id=True)), "id is not a positive whole number"),
        (httpx.Response(201, json=_request(service="../x")), "service is not a service name"),
        (httpx.Response(201, json=_request(kind="cache")), "kind must be one of"),
        (httpx.Response(201, json=_request(options=[])), "options is not an object"),
        (httpx.Response(201, json=_request(options={"x": 1})), "a database has no option x"),
        (httpx.Response(201, json=_request(name="S3")), "name"),
        (httpx.Response(201, json=_request(state="done")), "state must be one of"),
        (httpx.Response(201, json=_request(commit="zz")), "commit 'zz' is not"),
        (httpx.Response(201, json=_request(branch="-rf")), "branch '-rf' is not"),
        (httpx.Response(201, json=_request(requested_by="a\x1b[2Jb")), "requested_by"),
        (httpx.Response(201, json=_request(detail="x" * 501)), "detail is longer than 500"),
        (httpx.Response(201, json=_request(created_at="today")), "created_at 'today' is not"),
        (httpx.Response(201, json=_request(updated_at="2025-03-01T12:00")), "no time zone"),
        # Well formed, but not the request that was sent.
        (httpx.Response(201, json=_request(name="ledger")), "with another request"),
        (httpx.Response(201, json=_request(id=None)), "with another request"),
    ],
)
def test_a_request_the_platform_answers_with_is_checked(
    answer: httpx.Response, problem: str
) -> None:
    remote = _remote(answer)
    wanted = DataResource.make("database", "orders", engine="mysql")
    with pytest.raises(RemoteError, match=problem) as refused:
        remote.request_resource("payments", wanted)
    assert refused.value.exit_code == 5


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (httpx.Response(200, json=_request(state="started")), "with another request"),
        (httpx.Response(200, json=_request(id=2, state="failed")), "with another request"),
        (httpx.Response(200, json=_request(state="failed", options=None)), "options"),
    ],
)
def test_a_closed_request_the_platform_answers_with_is_checked(
    answer: httpx.Response, problem: str
) -> None:
    with pytest.raises(RemoteError, match=problem) as refused:
        _remote(answer).close_resource_request("payments", 1, "failed")
    assert refused.value.exit_code == 5


@pytest.mark.parametrize(
    ("page", "problem"),
    [
        ({"requests": [], "next_cursor": None}, "data_resources is not a list"),
        ({"data_resources": [], "requests": {}, "next_cursor": None}, "a page of resource"),
        ({"data_resources": [{"kind": "bucket"}], "requests": [], "next_cursor": None}, "name"),
        (
            {
                "data_resources": [{"kind": "bucket", "name": "up"}] * 2,
                "requests": [],
                "next_cursor": None,
            },
            "up is there twice",
        ),
        (
            {"data_resources": [], "requests": [_request(state=None)], "next_cursor": None},
            "state must be one of",
        ),
    ],
)
def test_a_list_of_resources_the_platform_answers_with_is_checked(
    page: dict[str, Any], problem: str
) -> None:
    with pytest.raises(RemoteError, match=problem) as refused:
        _remote(httpx.Response(200, json=page)).resources("payments")
    assert refused.value.exit_code == 5


def _unused(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no request was to be sent: {request.method} {request.url}")


def test_a_service_name_and_request_id_are_checked_before_they_go_into_a_url() -> None:
    client = httpx.Client(base_url="http://p", transport=httpx.MockTransport(_unused))
    remote = RemoteCatalog("http://p", "t", client=client)
    for call in (
        lambda: remote.request_resource("../audit", UPLOADS),
        lambda: remote.close_resource_request("a/b", 1, "failed"),
        lambda: remote.close_resource_request("payments", 0, "failed"),
        lambda: remote.resources("x?y"),
    ):
        with pytest.raises(InputError):
            call()
