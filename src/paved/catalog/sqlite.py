"""The local catalog: one SQLite file under the data directory, used in-process."""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import datetime as dt
import json
import sqlite3
import typing
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from paved.catalog._layers import layers_problem
from paved.catalog._registration import registration_conflict, unknown_team
from paved.errors import ConflictError, InputError, RemoteError
from paved.models import Caller, CatalogEntry, Deployment, LayerRef, Outcome, Service
from paved.names import check_name, name_problem
from paved.versions import VERSION_TEXT

__all__ = ["SqliteCatalog"]

# Each entry moves the schema one version forward; PRAGMA user_version records how far.
_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE services (
        name        TEXT PRIMARY KEY,
        owner       TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        repository  TEXT NOT NULL,
        created_at  TEXT NOT NULL
    );
    CREATE INDEX services_owner ON services(owner);
    CREATE TABLE service_layers (
        service  TEXT NOT NULL REFERENCES services(name) ON DELETE CASCADE,
        layer    TEXT NOT NULL,
        scaffold TEXT NOT NULL,
        version  TEXT NOT NULL,
        PRIMARY KEY (service, layer)
    );
    CREATE INDEX service_layers_scaffold ON service_layers(scaffold);
    """,
    # 2: every deploy attempt. No reference to services: a refused deploy of a service that
    # is not registered is recorded too.
    """
    CREATE TABLE deployments (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        service       TEXT NOT NULL,
        environment   TEXT NOT NULL,
        target        TEXT NOT NULL,
        image         TEXT NOT NULL DEFAULT '',
        source_commit TEXT,
        source_time   TEXT,
        actor         TEXT NOT NULL,
        started_at    TEXT NOT NULL,
        finished_at   TEXT NOT NULL,
        outcome       TEXT NOT NULL CHECK (outcome IN ('succeeded', 'failed', 'refused')),
        message       TEXT NOT NULL DEFAULT '',
        findings      TEXT NOT NULL DEFAULT '[]',
        break_glass   TEXT,
        rollback_of   INTEGER REFERENCES deployments(id),
        restored      INTEGER REFERENCES deployments(id),
        revision      TEXT,
        manifests     TEXT
    );
    CREATE INDEX deployments_service_environment ON deployments(service, environment, id);
    CREATE INDEX deployments_environment ON deployments(environment, id)
    """,
    # 3: deploy records are journals: 'started' before the effect, closed after it, so an
    # open entry has no finished_at yet. SQLite changes a CHECK only by copying the table.
    """
    ALTER TABLE deployments RENAME TO deployments_2;
    CREATE TABLE deployments (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        service       TEXT NOT NULL,
        environment   TEXT NOT NULL,
        target        TEXT NOT NULL,
        image         TEXT NOT NULL DEFAULT '',
        source_commit TEXT,
        source_time   TEXT,
        actor         TEXT NOT NULL,
        started_at    TEXT NOT NULL,
        finished_at   TEXT,
        outcome       TEXT NOT NULL
                      CHECK (outcome IN ('started', 'succeeded', 'failed', 'refused')),
        message       TEXT NOT NULL DEFAULT '',
        findings      TEXT NOT NULL DEFAULT '[]',
        break_glass   TEXT,
        rollback_of   INTEGER REFERENCES deployments(id),
        restored      INTEGER REFERENCES deployments(id),
        revision      TEXT,
        manifests     TEXT
    );
    INSERT INTO deployments SELECT * FROM deployments_2;
    DROP TABLE deployments_2;
    CREATE INDEX deployments_service_environment ON deployments(service, environment, id);
    CREATE INDEX deployments_environment ON deployments(environment, id)
    """,
    # The service's catalog entry (paved.models.CatalogEntry.to_json); NULL: the default.
    """
    ALTER TABLE services ADD COLUMN catalog TEXT
    """,
)


def _entry(row: _Row, value: object) -> CatalogEntry:
    """The catalog entry kept in ``value`` (JSON; ``NULL`` for a service registered before
    the catalog kept it: the default entry)."""
    if value is None:
        return CatalogEntry()
    try:
        if not isinstance(value, str):
            raise ValueError("not text")
        return CatalogEntry.from_json(json.loads(value))
    except ValueError as exc:
        raise row.bad("catalog", value, f"is not a catalog entry ({exc})") from None


def _stamp(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


#: What to do about a row paved cannot read.
_REPAIR = (
    "the file was changed outside paved: restore it from a backup, or correct or delete "
    "that row (sqlite3 FILE)"
)
#: A layer's version as the template store tags it (the answers files' rule, docs/deploy.md).
_OUTCOMES: frozenset[str] = frozenset(typing.get_args(Outcome))


@dataclasses.dataclass(frozen=True)
class _Row:
    """One row being read: each value is checked before it becomes a model object.

    A value that breaks its rule is a :class:`RemoteError` (the catalog is failing, exit 5)
    naming the database, the row and the column: every reader fails the same way, lists
    included (docs/architecture.md, "Broken local state").
    """

    location: str
    #: The row, for people: ``service 'payments'``, ``deployment 7``.
    what: str

    def bad(self, column: str, value: object, problem: str) -> RemoteError:
        shown = str(value)
        shown = shown if len(shown) <= 40 else shown[:40] + "..."
        shown = shown.encode("unicode_escape").decode("ascii")
        return RemoteError(
            f"catalog {self.location} holds a row paved cannot read: {self.what} has "
            f"{column} '{shown}', {problem}",
            hint=_REPAIR,
        )

    def text(self, column: str, value: object) -> str:
        if not isinstance(value, str):
            raise self.bad(column, value, f"not text but {type(value).__name__}")
        return value

    def optional_text(self, column: str, value: object) -> str | None:
        return None if value is None else self.text(column, value)

    def name(self, column: str, value: object) -> str:
        problem = name_problem(self.text(column, value))
        if problem is not None:
            raise self.bad(column, value, f"a name that {problem}")
        return str(value)

    def version(self, column: str, value: object) -> str:
        if not VERSION_TEXT.fullmatch(self.text(column, value)):
            raise self.bad(column, value, "not a version (letters, digits and . _ + -)")
        return str(value)

    def time(self, column: str, value: object) -> dt.datetime:
        try:
            return dt.datetime.fromisoformat(self.text(column, value))
        except ValueError:
            raise self.bad(column, value, "not a time (ISO 8601)") from None

    def optional_time(self, column: str, value: object) -> dt.datetime | None:
        return None if value is None else self.time(column, value)

    def optional_id(self, column: str, value: object) -> int | None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise self.bad(column, value, "not a deployment id")
        return value

    def outcome(self, value: object) -> Outcome:
        if value not in _OUTCOMES:
            raise self.bad("outcome", value, "not one of " + ", ".join(sorted(_OUTCOMES)))
        return typing.cast(Outcome, value)

    def findings(self, value: object) -> tuple[dict[str, Any], ...]:
        try:
            found = json.loads(self.text("findings", value))
        except ValueError:
            raise self.bad("findings", value, "not JSON") from None
        if not isinstance(found, list) or not all(isinstance(f, dict) for f in found):
            raise self.bad("findings", value, "not a JSON list of objects")
        return tuple(found)


def _where(conditions: Mapping[str, str | int | None]) -> tuple[str, list[str | int]]:
    """`` WHERE a AND b`` for the conditions whose value is given, and those values in order."""
    chosen = [(clause, value) for clause, value in conditions.items() if value is not None]
    if not chosen:
        return "", []
    return " WHERE " + " AND ".join(clause for clause, _ in chosen), [v for _, v in chosen]


class SqliteCatalog:
    """The catalog in a SQLite file; safe for several paved processes at once."""

    shared = False

    def __init__(self, path: Path, *, timeout: float = 10.0, teams: Sequence[str] = ()) -> None:
        self.path = path
        self.location = str(path)
        self._timeout = timeout
        self._db: sqlite3.Connection | None = None
        #: The teams of the settings (``[teams] names``); empty: any valid name.
        self._teams = tuple(sorted(set(teams)))

    # -- plumbing ----------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)
                db.execute("PRAGMA foreign_keys = ON")
                db.execute("PRAGMA journal_mode = WAL")
                self._migrate(db)
            except (sqlite3.Error, OSError) as exc:
                raise self._unavailable(exc) from exc
            self._db = db
        return self._db

    def _migrate(self, db: sqlite3.Connection) -> None:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        if version >= len(_MIGRATIONS):
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            (version,) = db.execute("PRAGMA user_version").fetchone()
            for number, script in enumerate(_MIGRATIONS[version:], start=version + 1):
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _unavailable(self, exc: BaseException) -> RemoteError:
        reason = str(exc) or type(exc).__name__
        hint = (
            "another paved is writing to it: try again in a moment"
            if "locked" in reason
            else "check that the file is readable and writable"
        )
        return RemoteError(f"catalog {self.location} is unavailable ({reason})", hint=hint)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        else:
            try:
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise self._unavailable(exc) from exc

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # -- reads -------------------------------------------------------------------------

    def _layers(
        self,
        db: sqlite3.Connection,
        names: list[str],
        chosen: tuple[str, list[str | int]] | None = None,
    ) -> dict[str, list[LayerRef]]:
        """The layers of the services ``names``; ``chosen`` (a ``WHERE`` clause of the
        services table and its values) picks the same services in one query instead of a
        list of names, for a long list. Each distinct layer is checked once."""
        found: dict[str, list[LayerRef]] = {name: [] for name in names}
        if not names:
            return found
        if chosen is not None:
            where, params = chosen
            rows = db.execute(
                "SELECT service, layer, scaffold, version FROM service_layers "  # noqa: S608
                f"WHERE service IN (SELECT name FROM services{where}) ORDER BY service, layer",
                params,
            )
        else:
            marks = ",".join("?" * len(names))
            rows = db.execute(
                f"SELECT service, layer, scaffold, version FROM service_layers "  # noqa: S608
                f"WHERE service IN ({marks}) ORDER BY service, layer",
                names,
            )
        known: dict[tuple[object, object, object], LayerRef] = {}
        for service, layer, scaffold, version in rows:
            if service not in found:
                continue  # registered after the services were read: not in this answer
            ref = known.get((layer, scaffold, version))
            if ref is None:
                row = _Row(self.location, f"layer '{layer!s:.20}' of service '{service!s:.40}'")
                ref = LayerRef(
                    row.text("layer", layer),
                    row.text("scaffold", scaffold),
                    row.version("version", version),
                )
                known[(layer, scaffold, version)] = ref
            found[service].append(ref)
        return found

    def _services(
        self,
        db: sqlite3.Connection,
        rows: list[tuple[Any, ...]],
        chosen: tuple[str, list[str | int]] | None = None,
    ) -> list[Service]:
        """The services of ``rows``, each value checked (a value seen in an earlier row of
        the same answer, such as an owner or a catalog entry, is checked once)."""
        owners: set[object] = set()
        entries: dict[object, CatalogEntry] = {}
        checked = []
        for name, owner, description, repository, created_at, catalog in rows:
            row = _Row(self.location, f"service '{name!s:.40}'")
            known = row.name("name", name)
            if owner not in owners:
                row.name("owner", owner)
                owners.add(owner)
            text = row.text("description", description)
            url = row.text("repository", repository)
            created = row.time("created_at", created_at)
            entry = entries.get(catalog) if isinstance(catalog, str | None) else None
            if entry is None:
                entry = _entry(row, catalog)
                if isinstance(catalog, str | None):
                    entries[catalog] = entry
            checked.append((known, str(owner), text, url, created, entry))
        layers = self._layers(db, [values[0] for values in checked], chosen)
        return [
            Service(
                name=name,
                owner=owner,
                description=text,
                repository=url,
                layers=tuple(layers[name]),
                created_at=created,
                catalog=entry,
            )
            for name, owner, text, url, created, entry in checked
        ]

    _COLUMNS = "name, owner, description, repository, created_at, catalog"

    def get(self, name: str) -> Service | None:
        if self._db is None and not self.path.exists():
            return None  # reading never creates the catalog
        db = self._connect()
        try:
            rows = db.execute(
                f"SELECT {self._COLUMNS} FROM services WHERE name = ?",  # noqa: S608
                (name,),
            ).fetchall()
            services = self._services(db, rows)
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc
        return services[0] if services else None

    def list(self, *, owner: str | None = None, template: str | None = None) -> list[Service]:
        where, params = _where(
            {
                "owner = ?": owner,
                "name IN (SELECT service FROM service_layers WHERE scaffold = ?)": template,
            }
        )
        sql = f"SELECT {self._COLUMNS} FROM services{where}"  # noqa: S608
        if self._db is None and not self.path.exists():
            return []  # reading never creates the catalog
        db = self._connect()
        try:
            rows = db.execute(sql + " ORDER BY name", params).fetchall()
            return self._services(db, rows, (where, params) if len(rows) > 100 else None)
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc

    # -- writes ------------------------------------------------------------------------

    def caller(self) -> Caller | None:
        return None  # a file on this machine has no users: whoever can write it may

    def teams(self) -> tuple[str, ...] | None:
        """The teams of the settings, or ``None`` when they declare none (any name may)."""
        return self._teams or None

    def _check_owner(self, service: Service) -> None:
        if self._teams:
            problem = unknown_team(service.owner, self._teams, "in the settings ([teams] names)")
            if problem is not None:
                raise InputError(problem, hint="add it to [teams] names in config.toml")

    def register(self, service: Service, *, dry_run: bool = False) -> tuple[Service, bool]:
        if dry_run:
            existing = self.get(service.name)
            if existing is not None:
                self._check_again(existing, service)
            else:
                self._check_owner(service)
            return existing or service, existing is None
        with self._transaction() as db:
            row = db.execute(
                f"SELECT {self._COLUMNS} FROM services WHERE name = ?",  # noqa: S608
                (service.name,),
            ).fetchall()
            if row:
                existing = self._services(db, row)[0]
                self._check_again(existing, service)
                return existing, False
            self._check_owner(service)
            db.execute(
                "INSERT INTO services (name, owner, description, repository, created_at, catalog)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    service.name,
                    service.owner,
                    service.description,
                    service.repository,
                    service.created_at.isoformat(),
                    json.dumps(service.catalog.to_json()),
                ),
            )
            db.executemany(
                "INSERT INTO service_layers (service, layer, scaffold, version) VALUES (?,?,?,?)",
                [(service.name, ref.layer, ref.scaffold, ref.version) for ref in service.layers],
            )
        return service, True

    def record_layers(
        self,
        name: str,
        layers: tuple[LayerRef, ...],
        *,
        dry_run: bool = False,
        catalog: CatalogEntry | None = None,
    ) -> Service:
        check_name(name)
        if (problem := layers_problem(layers)) is not None:
            raise InputError(
                f"the layers of service '{name}' cannot be recorded: {problem}",
                hint="record each layer once, at a version such as 1.4.0",
            )
        ordered = tuple(sorted(layers, key=lambda ref: ref.layer))  # as every read lists them
        existing = self.get(name)  # reading never creates the catalog
        if existing is None:
            raise self._unknown(name)
        if dry_run:
            return dataclasses.replace(
                existing, layers=ordered, catalog=catalog or existing.catalog
            )
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM services WHERE name = ?", (name,)).fetchone() is None:
                raise self._unknown(name)
            if catalog is not None:
                db.execute(
                    "UPDATE services SET catalog = ? WHERE name = ?",
                    (json.dumps(catalog.to_json()), name),
                )
            db.execute("DELETE FROM service_layers WHERE service = ?", (name,))
            db.executemany(
                "INSERT INTO service_layers (service, layer, scaffold, version) VALUES (?,?,?,?)",
                [(name, ref.layer, ref.scaffold, ref.version) for ref in ordered],
            )
            row = db.execute(
                f"SELECT {self._COLUMNS} FROM services WHERE name = ?",  # noqa: S608
                (name,),
            ).fetchall()
            return self._services(db, row)[0]

    def _unknown(self, name: str) -> InputError:
        return InputError(
            f"service '{name}' is not in the catalog {self.location}",
            hint="paved doctor --fix registers it",
        )

    @staticmethod
    def _check_again(existing: Service, service: Service) -> None:
        """Refuse registering ``service`` over ``existing`` unless it is the same one."""
        conflict = registration_conflict(
            service.name,
            stored=(existing.owner, existing.repository),
            wanted=(service.owner, service.repository),
        )
        if conflict is not None:
            raise ConflictError(conflict, hint="choose another name")

    # -- deployments -------------------------------------------------------------------

    _DEPLOYMENT_COLUMNS = (
        "id, service, environment, target, image, source_commit, source_time, actor, "
        "started_at, finished_at, outcome, message, findings, break_glass, rollback_of, "
        "restored, revision, manifests"
    )

    def record_deployment(self, deployment: Deployment) -> Deployment:
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO deployments (service, environment, target, image, source_commit, "
                "source_time, actor, started_at, finished_at, outcome, message, findings, "
                "break_glass, rollback_of, restored, revision, manifests) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    deployment.service,
                    deployment.environment,
                    deployment.target,
                    deployment.image,
                    deployment.source_commit,
                    _stamp(deployment.source_time),
                    deployment.actor,
                    _stamp(deployment.started_at),
                    _stamp(deployment.finished_at),
                    deployment.outcome,
                    deployment.message,
                    json.dumps(list(deployment.findings), sort_keys=True),
                    deployment.break_glass,
                    deployment.rollback_of,
                    deployment.restored,
                    deployment.revision,
                    deployment.manifests,
                ),
            )
            new_id = cursor.lastrowid
        return dataclasses.replace(deployment, id=new_id)

    def start_deployment(self, deployment: Deployment) -> Deployment:
        return self.record_deployment(
            dataclasses.replace(deployment, outcome="started", finished_at=None)
        )

    def finish_deployment(
        self,
        deployment_id: int,
        *,
        outcome: Outcome,
        finished_at: dt.datetime,
        message: str,
        revision: str | None = None,
        manifests: str | None = None,
    ) -> Deployment:
        with self._transaction() as db:
            done = db.execute(
                "UPDATE deployments SET outcome = ?, finished_at = ?, message = ?, "
                "revision = COALESCE(?, revision), manifests = COALESCE(?, manifests) "
                "WHERE id = ? AND outcome = 'started'",
                (outcome, _stamp(finished_at), message, revision, manifests, deployment_id),
            )
            if done.rowcount != 1:
                raise ConflictError(f"deployment {deployment_id} is not open (started)")
        return self._deployments({"id = ?": deployment_id})[0]

    def deployments(
        self, *, service: str | None = None, environment: str | None = None
    ) -> builtins.list[Deployment]:
        return self._deployments({"service = ?": service, "environment = ?": environment})

    def _deployments(self, conditions: Mapping[str, str | int | None]) -> builtins.list[Deployment]:
        where, params = _where(conditions)
        sql = f"SELECT {self._DEPLOYMENT_COLUMNS} FROM deployments{where}"  # noqa: S608
        if self._db is None and not self.path.exists():
            return []  # reading never creates the catalog
        db = self._connect()
        try:
            rows = db.execute(sql + " ORDER BY id", params).fetchall()
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc

        found = []
        for values in rows:
            (id_, service_, environment_, target, image, commit, source_time, actor, started,
             finished, outcome, message, findings, glass, rollback_of, restored, revision,
             manifests) = values  # fmt: skip
            row = _Row(self.location, f"deployment {id_!s:.20}")
            found.append(
                Deployment(
                    id=id_,
                    service=row.name("service", service_),
                    environment=row.text("environment", environment_),
                    target=row.text("target", target),
                    image=row.text("image", image),
                    source_commit=row.optional_text("source_commit", commit),
                    source_time=row.optional_time("source_time", source_time),
                    actor=row.text("actor", actor),
                    started_at=row.time("started_at", started),
                    finished_at=row.optional_time("finished_at", finished),
                    outcome=row.outcome(outcome),
                    message=row.text("message", message),
                    findings=row.findings(findings),
                    break_glass=row.optional_text("break_glass", glass),
                    rollback_of=row.optional_id("rollback_of", rollback_of),
                    restored=row.optional_id("restored", restored),
                    revision=row.optional_text("revision", revision),
                    manifests=row.optional_text("manifests", manifests),
                )
            )
        return found
