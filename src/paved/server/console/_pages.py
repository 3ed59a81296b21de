"""The console's pages: sign-in and sign-out, the catalog, a service, a team, the metrics.

Every page reads through the same store as the API and shows what the API shows to the
same token: any signed-in member may read the catalog, deployments and metrics; the audit
trail is for platform admins only. Nothing here writes but the session itself.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from paved import __version__
from paved.server import _schemas as s
from paved.server._audit import event
from paved.server._auth import Identity, authenticate, token_hash
from paved.server._metrics import (
    delivery_metrics,
    onboarding_metrics,
    protected_environments,
    week_start,
    weekly_delivery,
)
from paved.server._state import clock_of, config_of, store_of
from paved.server.console import _queries as q
from paved.server.console._charts import Chart, bar_chart, line_chart
from paved.server.console._session import (
    LIFETIME,
    end_cookie,
    new_cookie_value,
    same_origin,
    session_digest,
    session_identity,
    set_cookie,
)
from paved.server.console._throttle import SignInThrottle, StoredSignInThrottle
from paved.versions import Version

__all__ = ["HEADERS", "router"]

router = APIRouter(include_in_schema=False)
_T = TypeVar("_T")

_HERE = Path(__file__).parent
_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
_CSS = (_HERE / "static" / "console.css").read_bytes()
_NAME = re.compile(s.NAME_REGEX)
_SEARCH = re.compile(r"^[a-z0-9-]{0,40}$")
_VERSION = re.compile(r"^[A-Za-z0-9.+_-]{1,100}$")
PAGE_SIZE = 50
#: The token field of the sign-in form: a paved token is 81 characters; anything much longer
#: is not one.
_MAX_FORM = 4096
#: A number in the query string (a page, a count of weeks): ASCII digits only, as
#: ``str.isdigit`` also takes "²" and the like, which ``int`` refuses.
_NUMBER = re.compile(r"[0-9]{1,6}")

#: Sent with every console response. The referrer policy is ``same-origin``, not
#: ``no-referrer``: under ``no-referrer`` a browser sends ``Origin: null`` with a form's POST,
#: and the Origin check could not tell the console's own forms from anyone's.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _when(value: dt.datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _hours(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 3600:.1f} h"


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f} %"


def _page(name: str, who: Identity | None, status: int = 200, **values: Any) -> HTMLResponse:
    html = _TEMPLATES.get_template(name).render(
        who=who,
        version=__version__,
        when=_when,
        hours=_hours,
        percent=_percent,
        section=values.pop("section", ""),
        **values,
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def _error(who: Identity | None, status: int, title: str, message: str) -> HTMLResponse:
    return _page("error.html", who, status, title=title, message=message)


def _to_sign_in() -> Response:
    return RedirectResponse("/sign-in", status_code=303, headers=HEADERS)


def _viewer(request: Request) -> Identity | None:
    found = session_identity(request)
    return None if found is None else found[0]


# -- sessions ----------------------------------------------------------------------------------


@router.get("/sign-in")
def sign_in_form(request: Request) -> Response:
    if _viewer(request) is not None:
        return RedirectResponse("/", status_code=303, headers=HEADERS)
    return _page("sign_in.html", None, title="Sign in", problem="")


def _form_token(body: bytes) -> str | None:
    """The form's token (empty when the form has none), or ``None`` when the body is not a
    sign-in form: not UTF-8 (raw or percent-encoded), or more fields than the form has."""
    try:
        text = body.decode("utf-8")
        fields = urllib.parse.parse_qs(text, max_num_fields=4, errors="strict")
    except ValueError:  # UnicodeDecodeError included
        return None
    values = fields.get("token", [])
    return values[0].strip() if len(values) == 1 else ""


def _not_a_form() -> HTMLResponse:
    problem = "That was not this page's form: sign in with a token in the field below."
    return _page("sign_in.html", None, 400, title="Sign in", problem=problem)


def _throttle(request: Request) -> SignInThrottle | StoredSignInThrottle:
    """The app's throttle: one set on its state (a test's), else the database's."""
    with _KEEPING:
        found = getattr(request.app.state, "console_throttle", None)
        if not isinstance(found, SignInThrottle | StoredSignInThrottle):
            found = StoredSignInThrottle(store_of(request).engine)
            request.app.state.console_throttle = found
        return found


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _sign_in(request: Request, token: str) -> Response:
    store, now = store_of(request), clock_of(request)()
    throttle, address = _throttle(request), _address(request)
    wait = throttle.retry_after(address, now)
    if wait is not None:
        # Refused before anything is written: no audit row, no token looked up.
        problem = f"Too many failed sign-ins from this address: try again in {wait} seconds."
        page = _page("sign_in.html", None, 429, title="Sign in", problem=problem)
        page.headers["Retry-After"] = str(wait)
        return page
    who = authenticate(store, token, now)
    row = store.token(token_hash(token)) if who is not None else None
    if who is None or row is None:
        throttle.failed(address, now)
        store.audit(event(request, None, "console.sign-in", "console", "unauthenticated"))
        problem = "That token is not valid: it is unknown, expired or revoked."
        return _page("sign_in.html", None, 401, title="Sign in", problem=problem)
    throttle.succeeded(address)
    value = new_cookie_value()
    expires_at = min(now + LIFETIME, row.expires_at)
    started = event(request, who, "console.sign-in", "console", "ok", f"token {who.token_id}")
    store.start_console_session(session_digest(value), who.token_id, now, expires_at, event=started)
    response = RedirectResponse("/", status_code=303, headers=HEADERS)
    set_cookie(response, request, value)
    return response


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    """Exchange a platform token (a form field, never the URL) for a session cookie."""
    if not same_origin(request):
        return _error(None, 403, "Refused", "A sign-in must come from this console's own page.")
    body = await _form_body(request)
    if body is None:
        return _error(None, 413, "Refused", "That form is far larger than a token.")
    token = _form_token(body)
    if token is None:
        return _not_a_form()
    return await run_in_threadpool(_sign_in, request, token)


async def _form_body(request: Request) -> bytes | None:
    """The request's body, or ``None`` as soon as it is longer than :data:`_MAX_FORM`
    (it is read no further, whatever its ``Content-Length`` says)."""
    declared = request.headers.get("content-length", "")
    if _NUMBER.fullmatch(declared) is None and declared:
        return None  # not a length, or one of more than six digits
    if declared and int(declared) > _MAX_FORM:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_FORM:
            return None
    return bytes(body)


def _sign_out(request: Request) -> Response:
    found = session_identity(request)
    if found is not None:
        who, digest = found
        ended = event(request, who, "console.sign-out", "console", "ok")
        store_of(request).end_console_session(digest, clock_of(request)(), event=ended)
    response = RedirectResponse("/sign-in", status_code=303, headers=HEADERS)
    end_cookie(response, request)
    return response


@router.post("/sign-out")
def sign_out(request: Request) -> Response:
    """End the session: the cookie no longer opens anything, even if a copy was kept."""
    if not same_origin(request):
        return _error(None, 403, "Refused", "A sign-out must come from this console's own page.")
    return _sign_out(request)


@router.get("/console.css")
def stylesheet() -> Response:
    headers = {**HEADERS, "Cache-Control": "max-age=3600"}
    return Response(_CSS, media_type="text/css", headers=headers)


# -- the catalog -------------------------------------------------------------------------------


def _filter(params: Mapping[str, str]) -> q.CatalogFilter | str:
    """The catalog filter of the query string, or what is wrong with it."""
    search = params.get("q", "").strip().lower()
    team, road, gate = params.get("team", ""), params.get("road", ""), params.get("gate", "")
    if not _SEARCH.fullmatch(search):
        return "a name search has only lower-case letters, digits and dashes (up to 40)"
    if team and not _NAME.fullmatch(team):
        return f"'{team[:40]}' is not a team name"
    if road and not _VERSION.fullmatch(road):
        return "that road version is not a version"
    if gate and gate not in q.GATE_STATES:
        return f"the gate filter is one of {', '.join(q.GATE_STATES)}"
    return q.CatalogFilter(search=search, team=team, road=road, gate=gate)


def number(params: Mapping[str, str], name: str, default: int) -> int | None:
    """The whole number ``name`` of the query string (``default`` when it is absent), or
    ``None`` when it is not one: one to six ASCII digits."""
    text = params.get(name)
    if text is None:
        return default
    return int(text) if _NUMBER.fullmatch(text) else None


def _team_names(request: Request) -> list[str]:
    return [team.name for team in store_of(request).teams()]


@router.get("/")
def catalog(request: Request) -> Response:
    """The catalog: search by name, filter by team, road version and gate state."""
    who = _viewer(request)
    if who is None:
        return _to_sign_in()
    where = _filter(request.query_params)
    if isinstance(where, str):
        return _error(who, 400, "Not a filter", where)
    page = number(request.query_params, "page", 1)
    if page is None:
        return _error(who, 400, "Not a filter", "a page is a whole number")
    engine = store_of(request).engine
    found = q.catalog_page(engine, where, page=page, size=PAGE_SIZE)
    kept = {"q": where.search, "team": where.team, "road": where.road, "gate": where.gate}

    def query(page: int) -> str:
        return urllib.parse.urlencode({**{k: v for k, v in kept.items() if v}, "page": page})

    return _page(
        "catalog.html",
        who,
        title="Catalog",
        section="catalog",
        where=where,
        found=found,
        teams=_team_names(request),
        roads=q.road_versions(engine),
        gates=q.GATE_STATES,
        query=query,
    )


# -- a service ---------------------------------------------------------------------------------


def _link(url: str) -> str | None:
    """``url`` as a link target when it is a web address (``https://`` or ``http://``)."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme in ("https", "http") and parsed.netloc and url.isprintable():
        return url
    return None


def _backstage_link(request: Request, name: str) -> str | None:
    backstage = config_of(request).settings.get("backstage")
    url = backstage.get("url", "") if isinstance(backstage, Mapping) else ""
    if not isinstance(url, str) or _link(url) is None:
        return None
    return f"{url.rstrip('/')}/catalog/default/component/{name}"


def _resource_rows(service: s.ServiceOut) -> list[dict[str, Any]]:
    rows = []
    for made in service.catalog.data_resources:
        answer = made.model_dump()
        options = [(k, v) for k, v in answer.items() if k not in ("kind", "name")]
        rows.append({"kind": answer["kind"], "name": answer["name"], "options": options})
    return rows


@router.get("/services/{name}")
def service_page(request: Request, name: str) -> Response:
    """A service: owner, layers, resources, deployments per environment, the gate."""
    who = _viewer(request)
    if who is None:
        return _to_sign_in()
    store = store_of(request)
    found = store.get_service(name) if _NAME.fullmatch(name) else None
    if found is None:
        return _error(who, 404, "Not found", "There is no service of that name in the catalog.")
    resources = store.resources(name, before=None, limit=20)
    requests = resources[1] if resources is not None else []
    return _page(
        "service.html",
        who,
        title=found.name,
        service=found,
        repository_link=_link(found.repository),
        backstage_link=_backstage_link(request, found.name),
        data_resources=_resource_rows(found),
        requests=requests,
        deployments=q.latest_deployments(store.engine, name, per_environment=10),
        gate=q.latest_gate(store.engine, name),
        # The audit trail is for platform admins, as GET /v1/audit is.
        audit=q.service_audit(store.engine, name, limit=20) if who.admin else None,
    )


# -- delivery over weeks -----------------------------------------------------------------------


def weekly(
    request: Request, *, environment: str, weeks: int, team: str | None
) -> tuple[dict[str, Any], Chart, Chart]:
    """The delivery metrics of the last ``weeks`` weeks (from a Monday) in total, and the
    charts of deploy attempts and median lead time (hours) per week."""
    store, now = store_of(request), clock_of(request)()
    start = week_start(now) - dt.timedelta(weeks=weeks - 1)
    deployed = store.finished_deployments(
        environment=environment, start=start, end=now, team=team, service=None
    )
    opened = store.incident_records(
        environment=environment, start=start, end=now, team=team, service=None
    )
    records = [record for _, record in deployed]
    incidents = [record for _, record in opened]
    total = delivery_metrics(records, (now - start).total_seconds() / 86400, incidents)
    per_week = weekly_delivery(records, incidents, start, now)
    labels = [week["week_start"].strftime("%m-%d") for week in per_week]
    deploys = bar_chart(
        "deployments-per-week",
        "Deploy attempts per week",
        "deployments",
        [(label, float(w["deployments"])) for label, w in zip(labels, per_week, strict=True)],
    )
    lead = line_chart(
        "lead-time-trend",
        "Median lead time per week",
        "hours",
        [
            (label, None if w["lead_time_seconds"] is None else w["lead_time_seconds"] / 3600)
            for label, w in zip(labels, per_week, strict=True)
        ],
    )
    return total, deploys, lead


def onboarding_chart(request: Request, team: str | None) -> Chart | None:
    """Median onboarding time (days) per monthly cohort over the last year; ``None`` when
    nobody started. A cohort of fewer than five people who finished shows no figure."""
    now = clock_of(request)()
    start = now - dt.timedelta(days=365)
    people, steps = store_of(request).onboarding_records(
        protected=protected_environments(config_of(request).settings),
        start=start,
        end=now,
        team=team,
    )
    found = onboarding_metrics(people, steps, start, now)
    if not found["cohorts"]:
        return None
    return bar_chart(
        "onboarding-per-cohort",
        "Median onboarding time per monthly cohort",
        "days",
        [
            (
                c["cohort"],
                None if c["median_seconds"] is None else c["median_seconds"] / 86400,
            )
            for c in found["cohorts"]
        ],
        digits=1,
    )


def _weeks(params: Mapping[str, str]) -> int | None:
    """The window of a delivery chart in weeks (8 when not asked; 1 to 52), or ``None``
    when ``weeks`` is not a whole number."""
    weeks = number(params, "weeks", 8)
    return None if weeks is None else min(max(weeks, 1), 52)


_NOT_WEEKS = "the window is a whole number of weeks (1 to 52)"


@router.get("/teams/{name}")
def team_page(request: Request, name: str) -> Response:
    """A team: its services and its delivery in production."""
    who = _viewer(request)
    if who is None:
        return _to_sign_in()
    store = store_of(request)
    team = (
        next((t for t in store.teams() if t.name == name), None) if _NAME.fullmatch(name) else None
    )
    if team is None:
        return _error(who, 404, "Not found", "The platform knows no team of that name.")
    weeks = _weeks(request.query_params)
    if weeks is None:
        return _error(who, 400, "Not a filter", _NOT_WEEKS)
    found = q.catalog_page(store.engine, q.CatalogFilter(team=name), page=1, size=PAGE_SIZE)
    _, deploys, lead = figures(
        request,
        ("team", name, weeks),
        lambda: weekly(request, environment="prod", weeks=weeks, team=name),
    )
    return _page(
        "team.html",
        who,
        title=team.name,
        section=f"team:{team.name}",
        team=team,
        found=found,
        environment="prod",
        weeks=weeks,
        deploys=deploys,
        lead=lead,
    )


# -- metrics -----------------------------------------------------------------------------------


def road_chart(request: Request) -> Chart:
    """Services (not archived) per road version, by scaffold and version order."""
    counts = q.road_counts(store_of(request).engine)

    def order(item: tuple[str, str, int]) -> tuple[str, int, Any]:
        parsed = Version.parse(item[1])
        return (item[0], 0, parsed) if parsed is not None else (item[0], 1, item[1])

    return bar_chart(
        "road-versions",
        "Services per road version",
        "services",
        [(f"{scaffold} {version}", float(n)) for scaffold, version, n in sorted(counts, key=order)],
    )


#: How many sets of figures a server keeps (one per team and window asked for).
_KEPT = 64
#: Requests run in a thread pool: one of them at a time reads or changes what is kept.
_KEEPING = threading.Lock()


def figures(request: Request, key: tuple[Any, ...], compute: Callable[[], _T]) -> _T:
    """``compute()``, kept for the same ``key``, the same minute of the platform's clock and
    the same data (:meth:`Store.data_version`, read from the database on every request): a
    page asked for again before anything changed is not computed again. Any write through
    the platform, through this process or any other over the database, moves the data
    version, so the figures are never older than the minute. When the version cannot be
    told (a write in progress on PostgreSQL), nothing is kept."""
    minute = clock_of(request)().replace(second=0, microsecond=0)
    version = store_of(request).data_version()
    if version is None:
        return compute()
    full = (*key, minute, version)
    with _KEEPING:
        kept: dict[tuple[Any, ...], Any] = getattr(request.app.state, "console_figures", {})
        request.app.state.console_figures = kept
        if full in kept:
            found: _T = kept[full]
            return found
    made = compute()  # outside the lock: two first requests may both compute, harmlessly
    with _KEEPING:
        while len(kept) >= _KEPT:
            kept.pop(next(iter(kept)))
        kept[full] = made
    return made


@router.get("/metrics")
def metrics_page(request: Request) -> Response:
    """Delivery per week, the road's adoption, and onboarding when it is measured."""
    who = _viewer(request)
    if who is None:
        return _to_sign_in()
    team = request.query_params.get("team", "")
    if team and not _NAME.fullmatch(team):
        return _error(who, 400, "Not a filter", f"'{team[:40]}' is not a team name")
    weeks = _weeks(request.query_params)
    if weeks is None:
        return _error(who, 400, "Not a filter", _NOT_WEEKS)
    total, deploys, lead, roads, onboarding = figures(
        request,
        ("metrics", team, weeks),
        lambda: (
            *weekly(request, environment="prod", weeks=weeks, team=team or None),
            road_chart(request),
            onboarding_chart(request, team or None),
        ),
    )
    return _page(
        "metrics.html",
        who,
        title="Metrics",
        section="metrics",
        teams=_team_names(request),
        team=team,
        weeks=weeks,
        environment="prod",
        total=total,
        deploys=deploys,
        lead=lead,
        roads=roads,
        onboarding=onboarding,
    )


@router.get("/services/{rest:path}")
@router.get("/teams/{rest:path}")
@router.get("/metrics/{rest:path}")
def not_a_page(request: Request, rest: str) -> Response:
    """Any other path under the console's own prefixes: the console's 404 page (the API's
    paths are all under ``/v1`` and keep their JSON answers)."""
    who = _viewer(request)
    if who is None:
        return _to_sign_in()
    return _error(who, 404, "Not found", "The console has no page at that address.")
