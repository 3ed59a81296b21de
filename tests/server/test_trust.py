"""The platform decides before anything happens, and its records cannot be forged.

whoami, dry-run registration, the deployment journal (started, then finish), what the server
sets itself (actor), links and times it checks, the free-text and repository rules, tokens in
query strings, and an audit row for every refused mutation.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.server.conftest import Platform, deployment_body, service_body

LOCAL = (
    "repository '{}' is a local path other members cannot reach: set githost.remote in the "
    "platform settings (paved platform serve --settings) so new services go to the "
    "organisation's git host"
)
TOKEN_IN_QUERY = {
    "error": "token_in_query",
    "message": "send the token in the Authorization header, never in the URL",
}


def _events(platform: Platform) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = platform.client.get(
        "/v1/audit", headers=platform.auth("admin")
    ).json()["events"]
    return [e for e in events if e["address"] != "local"]


def _register(platform: Platform, who: str = "owner", **extra: Any) -> None:
    body = service_body(**extra)
    got = platform.client.post("/v1/services", json=body, headers=platform.auth(who))
    assert got.status_code == 201, got.text


def _start(platform: Platform, who: str = "owner", **extra: Any) -> dict[str, Any]:
    body = deployment_body(outcome="started", **extra)
    body.pop("finished_at")
    got = platform.client.post("/v1/deployments", json=body, headers=platform.auth(who))
    assert got.status_code == 201, got.text
    started: dict[str, Any] = got.json()
    return started


def _finish(platform: Platform, id_: int, who: str = "owner", **extra: object) -> Any:
    body = {
        "outcome": "succeeded",
        "finished_at": "2025-03-01T11:02:00Z",
        "message": "deployed",
        **extra,
    }
    return platform.client.post(
        f"/v1/deployments/{id_}/finish", json=body, headers=platform.auth(who)
    )


# -- whoami ----------------------------------------------------------------------------------


def test_whoami_names_the_user_their_teams_and_role(platform: Platform) -> None:
    got = platform.client.get("/v1/whoami", headers=platform.auth("owner"))
    assert got.status_code == 200
    assert got.json() == {"user": "alice", "teams": ["team-checkout"], "admin": False}
    admin = platform.client.get("/v1/whoami", headers=platform.auth("admin")).json()
    assert admin == {"user": "root", "teams": [], "admin": True}
    refused = platform.client.get("/v1/whoami")
    assert refused.status_code == 401
    assert refused.json()["error"] == "unauthenticated"


# -- dry-run registration --------------------------------------------------------------------


def test_a_dry_run_answers_as_the_registration_would_and_writes_nothing(
    platform: Platform,
) -> None:
    auth = platform.auth("owner")
    dry = platform.client.post(
        "/v1/services", params={"dry_run": "true"}, json=service_body(), headers=auth
    )
    assert dry.status_code == 201, dry.text
    assert platform.client.get("/v1/services/payments", headers=auth).status_code == 404
    assert platform.client.get("/v1/services", headers=auth).json()["services"] == []
    assert _events(platform) == []  # a dry run that passes is not audited
    real = platform.client.post("/v1/services", json=service_body(), headers=auth)
    assert real.status_code == 201
    assert real.json() == dry.json()
    platform.clock.now += dt.timedelta(hours=1)
    again = platform.client.post(
        "/v1/services", params={"dry_run": "true"}, json=service_body(), headers=auth
    )
    assert again.status_code == 200
    assert again.json() == real.json()


def test_a_dry_run_layers_are_those_the_registration_stores(platform: Platform) -> None:
    auth = platform.auth("owner")
    layers = [
        {"layer": "road", "scaffold": "paved-road", "version": "1.0.0"},
        {"layer": "app", "scaffold": "service-python", "version": "1.0.0"},
        {"layer": "road", "scaffold": "paved-road", "version": "1.1.0"},
    ]
    body = service_body(layers=layers)
    dry = platform.client.post("/v1/services", params={"dry_run": "true"}, json=body, headers=auth)
    real = platform.client.post("/v1/services", json=body, headers=auth)
    assert dry.json() == real.json()
    assert [x["version"] for x in real.json()["layers"]] == ["1.0.0", "1.1.0"]


def test_a_dry_run_refuses_what_the_registration_refuses_and_audits_it(
    platform: Platform,
) -> None:
    def dry(who: str, **extra: Any) -> Any:
        return platform.client.post(
            "/v1/services",
            params={"dry_run": "true"},
            json=service_body(**extra),
            headers=platform.auth(who),
        )

    assert dry("none").status_code == 401
    assert dry("other").status_code == 403
    _register(platform)
    taken = dry("owner", repository="https://git.example.com/elsewhere.git")
    assert taken.status_code == 409
    assert "already registered" in taken.json()["message"]
    assert platform.client.post(
        "/v1/services/payments/archive", headers=platform.auth("owner")
    ).is_success
    archived = dry("owner")
    assert archived.status_code == 409
    assert archived.json()["message"] == "service 'payments' was archived; choose another name"
    local = dry("owner", name="ledger", repository="file:///srv/git/ledger.git")
    assert local.status_code == 422
    assert local.json()["message"] == LOCAL.format("file:///srv/git/ledger.git")
    outcomes = [(e["action"], e["outcome"]) for e in _events(platform)]
    assert outcomes == [
        ("service.register", "unauthenticated"),
        ("service.register", "forbidden"),
        ("service.register", "created"),
        ("service.register", "conflict"),
        ("service.archive", "archived"),
        ("service.register", "conflict"),
        ("service.register", "invalid"),
    ]


def test_dry_run_is_documented(platform: Platform) -> None:
    document = platform.client.get("/openapi.json").json()
    parameters = document["paths"]["/v1/services"]["post"]["parameters"]
    (dry_run,) = [p for p in parameters if p["name"] == "dry_run"]
    assert dry_run["in"] == "query"
    assert "write nothing" in dry_run["description"]


# -- the deployment journal ------------------------------------------------------------------


def test_a_deployment_starts_then_finishes(platform: Platform) -> None:
    _register(platform)
    started = _start(platform)
    assert started["outcome"] == "started"
    assert started["finished_at"] is None
    assert started["actor"] == "alice"
    metrics = platform.client.get("/v1/metrics", headers=platform.auth("owner")).json()
    assert metrics["total"]["deployments"] == 0  # a started deployment counts for nothing
    finished = _finish(platform, started["id"], revision="def5678", manifests="kind: List\n")
    assert finished.status_code == 200, finished.text
    assert finished.json() == {
        **started,
        "outcome": "succeeded",
        "finished_at": "2025-03-01T11:02:00Z",
        "message": "deployed",
        "revision": "def5678",
        "manifests": "kind: List\n",
        "finished_by": "alice",  # who finished it, set by the platform
        "recorded_at": "2025-03-01T12:00:00Z",  # when, by the platform's clock
    }
    listed = platform.client.get("/v1/deployments", headers=platform.auth("other")).json()
    assert listed["deployments"] == [finished.json()]
    metrics = platform.client.get("/v1/metrics", headers=platform.auth("owner")).json()
    assert metrics["total"]["deployments"] == 1
    assert metrics["total"]["lead_time_seconds"] == 3720.0
    audit = [(e["action"], e["outcome"], e["target"]) for e in _events(platform)][1:]
    assert audit == [
        ("deployment.record", "recorded", "deployment payments/prod"),
        ("deployment.finish", "finished", f"deployment {started['id']}"),
    ]


def test_finish_keeps_revision_and_manifests_when_not_sent(platform: Platform) -> None:
    _register(platform)
    started = _start(platform, revision="abc1234", manifests="a: 1\n")
    done = _finish(platform, started["id"], outcome="failed", message="rollout timed out")
    assert done.status_code == 200
    assert (done.json()["revision"], done.json()["manifests"]) == ("abc1234", "a: 1\n")
    assert done.json()["outcome"] == "failed"


def test_finish_twice_is_409(platform: Platform) -> None:
    _register(platform)
    started = _start(platform)
    assert _finish(platform, started["id"]).status_code == 200
    again = _finish(platform, started["id"], outcome="failed")
    assert again.status_code == 409
    assert again.json()["message"] == (
        f"deployment {started['id']} has finished already (outcome succeeded): only a started "
        "deployment can be finished"
    )
    whole = platform.client.post(
        "/v1/deployments", json=deployment_body(), headers=platform.auth("owner")
    )
    assert _finish(platform, whole.json()["id"]).status_code == 409
    outcomes = [e["outcome"] for e in _events(platform)][-3:]
    assert outcomes == ["conflict", "recorded", "conflict"]


def test_finish_by_another_team_is_403_and_changes_nothing(platform: Platform) -> None:
    _register(platform)
    started = _start(platform)
    refused = _finish(platform, started["id"], who="other")
    assert refused.status_code == 403
    assert _finish(platform, started["id"], who="none").status_code == 401
    listed = platform.client.get("/v1/deployments", headers=platform.auth("owner")).json()
    assert listed["deployments"] == [started]
    events = _events(platform)[-2:]
    assert [(e["actor"], e["action"], e["outcome"]) for e in events] == [
        ("bob", "deployment.finish", "forbidden"),
        ("anonymous", "deployment.finish", "unauthenticated"),
    ]
    assert _finish(platform, started["id"], who="admin").status_code == 200


def test_finish_of_an_unknown_deployment_is_404_audited(platform: Platform) -> None:
    got = _finish(platform, 999)
    assert got.status_code == 404
    assert got.json()["message"] == "deployment 999 is not in the catalog"
    last = _events(platform)[-1]
    assert (last["action"], last["target"], last["outcome"]) == (
        "deployment.finish",
        "deployment 999",
        "not-found",
    )


@pytest.mark.parametrize(
    ("finished_at", "message"),
    [
        (
            "2025-03-01T10:59:59Z",
            "finished_at 2025-03-01T10:59:59+00:00 is before started_at 2025-03-01T11:00:00+00:00",
        ),
        ("2025-03-01T12:05:01Z", "finished_at 2025-03-01T12:05:01+00:00 is in the future"),
    ],
)
def test_finish_times_must_be_true(platform: Platform, finished_at: str, message: str) -> None:
    _register(platform)
    started = _start(platform)
    got = _finish(platform, started["id"], finished_at=finished_at)
    assert got.status_code == 422
    assert got.json()["message"].startswith(message)
    assert _events(platform)[-1]["outcome"] == "invalid"
    assert _finish(platform, started["id"], finished_at="2025-03-01T12:04:59Z").status_code == 200


AT = "2025-03-01T11:02:00Z"


@pytest.mark.parametrize(
    "body",
    [
        {"outcome": "started", "finished_at": AT},
        {"outcome": "refused", "finished_at": AT},
        {"outcome": "succeeded"},
        {"finished_at": AT},
        {"outcome": "succeeded", "finished_at": AT, "surprise": 1},
        {"outcome": "succeeded", "finished_at": "2025-03-01T11:02:00"},
        {"outcome": "succeeded", "finished_at": AT, "revision": "XYZ"},
        {"outcome": "succeeded", "finished_at": AT, "message": "m" * 2001},
        {"outcome": "succeeded", "finished_at": AT, "manifests": "\x00"},
    ],
)
def test_bad_finish_bodies_are_422(platform: Platform, body: dict[str, object]) -> None:
    _register(platform)
    started = _start(platform)
    got = platform.client.post(
        f"/v1/deployments/{started['id']}/finish", json=body, headers=platform.auth("owner")
    )
    assert got.status_code == 422, got.text
    assert _events(platform)[-1]["outcome"] == "invalid"


def test_a_started_record_has_no_finished_at_and_a_whole_one_needs_it(
    platform: Platform,
) -> None:
    _register(platform)
    auth = platform.auth("owner")
    early = platform.client.post(
        "/v1/deployments", json=deployment_body(outcome="started"), headers=auth
    )
    assert early.status_code == 422
    assert "a started record has no finished_at" in early.json()["message"]
    null = platform.client.post(
        "/v1/deployments", json=deployment_body(outcome="started", finished_at=None), headers=auth
    )
    assert null.status_code == 201
    for outcome in ("succeeded", "failed", "refused"):
        body = deployment_body(outcome=outcome)
        body.pop("finished_at")
        missing = platform.client.post("/v1/deployments", json=body, headers=auth)
        assert missing.status_code == 422, outcome
        assert (
            missing.json()["message"] == "finished_at is required unless the outcome is 'started'"
        )


@pytest.mark.parametrize("who", ["owner", "admin", "other"])
def test_a_deployment_starts_only_for_a_registered_live_service_of_ones_team(
    platform: Platform, who: str
) -> None:
    body = deployment_body("ghost", outcome="started", finished_at=None)
    unregistered = platform.client.post("/v1/deployments", json=body, headers=platform.auth(who))
    assert unregistered.status_code == 403
    _register(platform)
    assert platform.client.post(
        "/v1/services/payments/archive", headers=platform.auth("owner")
    ).is_success
    body = deployment_body("payments", outcome="started", finished_at=None)
    archived = platform.client.post("/v1/deployments", json=body, headers=platform.auth(who))
    assert archived.status_code == 403
    assert platform.client.get("/v1/deployments", headers=platform.auth(who)).json() == {
        "deployments": [],
        "next_cursor": None,
    }
    refusals = [(e["action"], e["outcome"]) for e in _events(platform)]
    assert refusals[0] == refusals[-1] == ("deployment.record", "forbidden")


# -- records cannot be forged ----------------------------------------------------------------


def test_the_actor_is_the_token_s_user_whatever_is_sent(platform: Platform) -> None:
    _register(platform)
    auth = platform.auth("owner")
    forged = platform.client.post(
        "/v1/deployments", json=deployment_body(actor="Mallory <ceo@example.com>"), headers=auth
    )
    assert forged.status_code == 201
    assert (forged.json()["actor"], forged.json()["recorded_by"]) == ("alice", "alice")
    body = deployment_body()
    body.pop("actor")  # new clients do not send it
    assert platform.client.post("/v1/deployments", json=body, headers=auth).json()["actor"] == (
        "alice"
    )
    started = _start(platform, actor="someone else")
    assert started["actor"] == "alice"
    # Closing it (a reader settling an attempt that died) keeps who ran it; the audit says
    # who closed it.
    assert _finish(platform, started["id"], who="admin").json()["actor"] == "alice"


def test_a_forged_rollback_of_another_team_s_deployment_is_422_and_changes_no_metric(
    platform: Platform,
) -> None:
    _register(platform)
    _register(platform, who="other", name="search", owner="team-search")
    owner, other = platform.auth("owner"), platform.auth("other")
    ok = deployment_body(source_time="2025-02-28T10:00:00Z")
    victim = platform.client.post("/v1/deployments", json=ok, headers=owner).json()["id"]
    before = platform.client.get("/v1/metrics", headers=other).json()
    assert before["total"]["change_failure_rate"] == 0.0
    for link in ("rollback_of", "restored"):
        forged = deployment_body("search", **{link: victim})
        got = platform.client.post("/v1/deployments", json=forged, headers=other)
        assert got.status_code == 422, got.text
        assert got.json()["message"] == (
            f"{link} {victim} is a deployment of payments to prod, not of search to prod"
        )
    assert platform.client.get("/v1/metrics", headers=other).json() == before
    assert [e["outcome"] for e in _events(platform)][-2:] == ["invalid", "invalid"]
    search = [
        d for d in platform.client.get("/v1/deployments", headers=other).json()["deployments"]
    ]
    assert [d["service"] for d in search] == ["payments"]


def test_rollback_of_and_restored_name_deployments_of_the_same_service_and_environment(
    platform: Platform,
) -> None:
    _register(platform)
    auth = platform.auth("owner")
    dev = platform.client.post(
        "/v1/deployments", json=deployment_body(environment="dev"), headers=auth
    ).json()["id"]
    prod = platform.client.post("/v1/deployments", json=deployment_body(), headers=auth).json()[
        "id"
    ]
    other_env = platform.client.post(
        "/v1/deployments", json=deployment_body(rollback_of=dev), headers=auth
    )
    assert other_env.status_code == 422
    assert "not of payments to prod" in other_env.json()["message"]
    missing = platform.client.post(
        "/v1/deployments", json=deployment_body(restored=12345), headers=auth
    )
    assert missing.status_code == 422
    assert missing.json()["message"] == "restored 12345 is not a deployment in the catalog"
    good = platform.client.post(
        "/v1/deployments", json=deployment_body(rollback_of=prod, restored=prod), headers=auth
    )
    assert good.status_code == 201, good.text
    assert (good.json()["rollback_of"], good.json()["restored"]) == (prod, prod)


def test_finished_before_started_is_422(platform: Platform) -> None:
    _register(platform)
    body = deployment_body(started_at="2025-03-01T11:00:00Z", finished_at="2025-03-01T10:00:00Z")
    got = platform.client.post("/v1/deployments", json=body, headers=platform.auth("owner"))
    assert got.status_code == 422
    assert got.json()["message"] == (
        "finished_at 2025-03-01T10:00:00+00:00 is before started_at 2025-03-01T11:00:00+00:00"
    )


@pytest.mark.parametrize(
    ("times", "field"),
    [
        (
            {"started_at": "2025-03-01T12:05:01Z", "finished_at": "2025-03-01T12:06:00Z"},
            "started_at",
        ),
        ({"finished_at": "2025-03-01T12:05:01Z"}, "finished_at"),
        ({"source_time": "2025-03-01T12:30:00Z"}, "source_time"),
        ({"source_time": "2025-03-01T14:00:00+01:00"}, "source_time"),
    ],
)
def test_times_ahead_of_the_platform_s_clock_are_422(
    platform: Platform, times: dict[str, str], field: str
) -> None:
    _register(platform)
    got = platform.client.post(
        "/v1/deployments", json=deployment_body(**times), headers=platform.auth("owner")
    )
    assert got.status_code == 422, got.text
    assert got.json()["message"].startswith(f"{field} ")
    assert (
        "is in the future (the platform's clock says 2025-03-01T12:00:00+00:00)"
        in (got.json()["message"])
    )
    assert _events(platform)[-1]["outcome"] == "invalid"


def test_times_within_five_minutes_of_the_platform_s_clock_are_taken(platform: Platform) -> None:
    _register(platform)
    skewed = deployment_body(
        source_time="2025-03-01T12:04:00Z",
        started_at="2025-03-01T12:04:30Z",
        finished_at="2025-03-01T12:05:00Z",
    )
    got = platform.client.post("/v1/deployments", json=skewed, headers=platform.auth("owner"))
    assert got.status_code == 201, got.text


# -- free text is text -----------------------------------------------------------------------

#: One of each kind: C0 (NUL, tab, newline, escape), DEL, C1, an override, an isolate, the
#: line and paragraph separators.
REFUSED = ["\x00", "\t", "\n", "\x1b", "\x7f", "\x85", "\u202e", "\u2067", "\u2028", "\u2029"]
EVERY_REFUSED = [
    *(chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))),
    *(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x2028, 0x2029)),
]


def test_every_refused_character_is_refused_in_a_description(platform: Platform) -> None:
    for char in EVERY_REFUSED:
        got = platform.client.post(
            "/v1/services",
            json=service_body(description=f"Takes{char}payments"),
            headers=platform.auth("owner"),
        )
        assert got.status_code == 422, repr(char)
        assert got.json()["message"] == (
            f"description contains the control character U+{ord(char):04X}"
        )
    assert platform.client.get("/v1/services", headers=platform.auth("owner")).json() == {
        "services": [],
        "next_cursor": None,
    }


@pytest.mark.parametrize(
    "field",
    [
        "service.description",
        "service.repository",
        "deployment.actor",
        "deployment.image",
        "deployment.message",
        "deployment.break_glass",
        "finish.message",
    ],
)
def test_control_characters_and_bidi_are_refused_in_every_free_text_field(
    platform: Platform, field: str
) -> None:
    kind, name = field.split(".")
    auth = platform.auth("owner")
    if kind != "service":
        _register(platform)
    started: int = _start(platform)["id"] if kind == "finish" else 0
    for char in REFUSED:
        value = (
            f"https://git.example.com/pay{char}ments.git" if name == "repository" else f"a{char}b"
        )
        if kind == "service":
            body = service_body(name="ledger", **{name: value})
            got = platform.client.post("/v1/services", json=body, headers=auth)
        elif kind == "deployment":
            body = deployment_body(**{name: value})
            got = platform.client.post("/v1/deployments", json=body, headers=auth)
        else:
            got = _finish(platform, started, message=value)
        assert got.status_code == 422, (repr(char), got.text)
        assert got.json()["message"] == f"{name} contains the control character U+{ord(char):04X}"
        assert any(name in d["loc"] for d in got.json()["detail"])
        assert _events(platform)[-1]["outcome"] == "invalid"
    listed = platform.client.get("/v1/deployments", headers=auth).json()["deployments"]
    assert [d["outcome"] for d in listed] == (["started"] if kind == "finish" else [])


def test_lone_surrogates_are_refused_and_visible_unicode_is_taken(platform: Platform) -> None:
    auth = {**platform.auth("owner"), "content-type": "application/json"}
    surrogate = b'{"name": "payments", "owner": "team-checkout", "repository": "https://h/p",'
    got = platform.client.post(
        "/v1/services", content=surrogate + b' "description": "\\ud800"}', headers=auth
    )
    assert got.status_code == 422
    assert any("description" in d["loc"] for d in got.json()["detail"])
    text = "Zahlungen für Kunden — 支払い, שלום"
    taken = platform.client.post(
        "/v1/services", json=service_body(description=text), headers=platform.auth("owner")
    )
    assert taken.status_code == 201
    assert taken.json()["description"] == text


def test_manifests_keep_their_lines(platform: Platform) -> None:
    _register(platform)
    manifests = "apiVersion: v1\nkind: ConfigMap\n\tindented: true\n"
    got = platform.client.post(
        "/v1/deployments", json=deployment_body(manifests=manifests), headers=platform.auth("owner")
    )
    assert got.status_code == 201
    assert got.json()["manifests"] == manifests


# -- repositories other members can reach ----------------------------------------------------


@pytest.mark.parametrize(
    "repository",
    [
        "file:///srv/git/payments.git",
        "file:/srv/git/payments.git",
        "FILE://host/srv/payments.git",
        "/srv/git/payments.git",
        "~/git/payments.git",
        "./payments",
        "../payments.git",
        ".",
        "payments.git",
        "repos/payments",
        "C:\\repos\\payments.git",
        "c:/repos/payments.git",
    ],
)
def test_a_local_path_is_refused_with_what_to_do(platform: Platform, repository: str) -> None:
    got = platform.client.post(
        "/v1/services", json=service_body(repository=repository), headers=platform.auth("owner")
    )
    assert got.status_code == 422, got.text
    assert got.json()["message"] == LOCAL.format(repository)
    assert _events(platform)[-1]["outcome"] == "invalid"


@pytest.mark.parametrize(
    "repository",
    ["ftp://git.example.com/payments.git", "https:payments", "mailto:team@example.com", "git:/x"],
)
def test_a_url_that_is_not_a_git_host_s_is_refused(platform: Platform, repository: str) -> None:
    got = platform.client.post(
        "/v1/services", json=service_body(repository=repository), headers=platform.auth("owner")
    )
    assert got.status_code == 422, got.text
    assert got.json()["message"].startswith(f"repository '{repository}' is not the URL")


@pytest.mark.parametrize(
    "repository",
    [
        "https://github.com/example/payments.git",
        "http://git.internal:8080/checkout/payments",
        "ssh://git@git.example.com:2222/checkout/payments.git",
        "git://127.0.0.1/payments.git",
        "git@github.com:example/payments.git",
        "HTTPS://GIT.EXAMPLE.COM/payments",
    ],
)
def test_urls_of_a_git_host_are_taken(platform: Platform, repository: str) -> None:
    got = platform.client.post(
        "/v1/services", json=service_body(repository=repository), headers=platform.auth("owner")
    )
    assert got.status_code == 201, got.text


# -- tokens never travel in a URL ------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"token": "anything"},
        {"access_token": "x"},
        {"api_key": ""},
        {"Token": "x"},
        {"owner": "pvd_0123456789abcdef_secret"},
        {"cursor": "pvd_"},
    ],
)
@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/services"), ("GET", "/healthz")])
def test_a_token_in_the_query_string_is_400(
    platform: Platform, method: str, path: str, query: dict[str, str]
) -> None:
    got = platform.client.request(method, path, params=query, headers=platform.auth("owner"))
    assert got.status_code == 400
    assert got.json() == TOKEN_IN_QUERY


def test_the_caller_s_own_token_in_the_query_string_is_400_and_audited(
    platform: Platform,
) -> None:
    token = platform.tokens["owner"]
    bare = platform.client.post(f"/v1/services?{token}", json=service_body())
    assert bare.status_code == 400
    assert bare.json() == TOKEN_IN_QUERY
    named = platform.client.post(
        "/v1/services", params={"token": token}, json=service_body(), headers=platform.auth("owner")
    )
    assert named.status_code == 400
    finish = platform.client.post(
        "/v1/deployments/1/finish",
        params={"api_key": token},
        json={},
        headers=platform.auth("other"),
    )
    assert finish.status_code == 400
    assert (
        platform.client.get("/v1/services/payments", headers=platform.auth("owner")).status_code
        == 404
    )
    events = [(e["actor"], e["action"], e["target"], e["outcome"]) for e in _events(platform)]
    assert events == [
        ("anonymous", "service.register", "services", "token_in_query"),
        ("alice", "service.register", "services", "token_in_query"),
        ("bob", "deployment.finish", "deployment 1", "token_in_query"),
    ]
    everything = repr(platform.client.get("/v1/audit", headers=platform.auth("admin")).json())
    assert token.split("_", 2)[2] not in everything


def test_a_token_in_the_query_of_a_read_is_refused_but_not_audited(platform: Platform) -> None:
    got = platform.client.get("/v1/deployments", params={"access_token": "x"})
    assert got.status_code == 400
    assert _events(platform) == []


# -- every refused mutation is audited -------------------------------------------------------


def test_oversized_and_unsized_bodies_are_audited(platform: Platform) -> None:
    auth = {**platform.auth("owner"), "content-type": "application/json"}
    huge = platform.client.post("/v1/deployments", content=b" " * 1_000_001, headers=auth)
    assert huge.status_code == 413

    def chunks() -> Any:
        yield b'{"name": '
        yield b'"payments"}'

    unsized = platform.client.post("/v1/services", content=chunks(), headers=auth)
    assert unsized.status_code == 411
    assert unsized.json() == {"error": "length_required", "message": "send a Content-Length"}
    bad_length = platform.client.post(
        "/v1/services/payments/archive", headers={**auth, "content-length": "lots"}
    )
    assert bad_length.status_code == 413
    events = [(e["actor"], e["action"], e["outcome"]) for e in _events(platform)]
    assert events == [
        ("alice", "deployment.record", "too_large"),
        ("alice", "service.register", "length_required"),
        ("alice", "service.archive", "too_large"),
    ]


def test_malformed_bodies_and_unknown_paths_of_mutations_are_audited_once(
    platform: Platform,
) -> None:
    auth = {**platform.auth("other"), "content-type": "application/json"}
    assert (
        platform.client.post("/v1/services", content=b"{not json", headers=auth).status_code == 422
    )
    assert (
        platform.client.post("/v1/deployments/abc/finish", json={}, headers=auth).status_code == 422
    )
    assert platform.client.post("/v1/services/a/b/archive", headers=auth).status_code == 404
    assert platform.client.post("/v1/deployments", content=b"[]", headers=auth).status_code == 422
    events = [(e["actor"], e["action"], e["target"], e["outcome"]) for e in _events(platform)]
    assert events == [
        ("bob", "service.register", "services", "invalid"),
        ("bob", "deployment.finish", "deployment abc", "invalid"),
        ("bob", "service.archive", "service a/b", "not-found"),
        ("bob", "deployment.record", "deployments", "invalid"),
    ]


def test_reads_are_not_audited(platform: Platform) -> None:
    for path in ("/v1/services", "/v1/deployments", "/v1/whoami", "/v1/nothing"):
        platform.client.get(path, headers=platform.auth("owner"))
        platform.client.get(path)
    assert _events(platform) == []


def test_a_registration_and_its_audit_row_are_written_together(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit row of a registration is written in the registration's transaction: when the
    row cannot be written, no service exists that the trail does not show."""
    store = platform.client.app.state.store  # type: ignore[attr-defined]

    def trail_down(_event: object) -> None:
        raise RuntimeError("the audit trail cannot be written")

    monkeypatch.setattr(store, "_audited", trail_down)
    with pytest.raises(RuntimeError, match="audit trail"):
        platform.client.post(
            "/v1/services", json=service_body(name="ledger"), headers=platform.auth("owner")
        )
    monkeypatch.setattr(store, "_audited", None)
    got = platform.client.get("/v1/services/ledger", headers=platform.auth("owner"))
    assert got.status_code == 404, got.text
    _register(platform, name="ledger")
    assert [e["outcome"] for e in _events(platform) if e["target"] == "service ledger"] == [
        "created"
    ]


@pytest.mark.parametrize(
    "repository",
    ["https://alice:s3cret@git.example.com/payments.git", "https://ghp_s3cret@github.com/a/p.git"],
)
def test_a_repository_url_with_credentials_is_refused_without_repeating_them(
    platform: Platform, repository: str
) -> None:
    got = platform.client.post(
        "/v1/services", json=service_body(repository=repository), headers=platform.auth("owner")
    )
    assert got.status_code == 422, got.text
    assert "carries credentials" in got.json()["message"]
    assert "s3cret" not in got.text
