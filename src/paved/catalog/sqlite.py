"""The local catalog: one SQLite file under the data directory, used in-process."""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import datetime as dt
import json
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path

from paved.errors import ConflictError, InputError, RemoteError
from paved.models import Caller, Deployment, LayerRef, Outcome, Service

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
)


def _stamp(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _when(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise InputError(
            f"the catalog holds a malformed time '{value!s:.40}'",
            hint="the catalog file was edited by hand: restore it from a backup",
        ) from None


def _broken(column: str, row: int) -> dt.datetime:
    raise InputError(f"the catalog's deployment {row} has no {column}")


def _where(conditions: Mapping[str, str | int | None]) -> tuple[str, list[str | int]]:
    """`` WHERE a AND b`` for the conditions whose value is given, and those values in order."""
    chosen = [(clause, value) for clause, value in conditions.items() if value is not None]
    if not chosen:
        return "", []
    return " WHERE " + " AND ".join(clause for clause, _ in chosen), [v for _, v in chosen]


class SqliteCatalog:
    """The catalog in a SQLite file; safe for several paved processes at once."""

    shared = False

    def __init__(self, path: Path, *, timeout: float = 10.0) -> None:
        self.path = path
        self.location = str(path)
        self._timeout = timeout
        self._db: sqlite3.Connection | None = None

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

    def _layers(self, db: sqlite3.Connection, names: list[str]) -> dict[str, list[LayerRef]]:
        found: dict[str, list[LayerRef]] = {name: [] for name in names}
        if not names:
            return found
        marks = ",".join("?" * len(names))
        rows = db.execute(
            f"SELECT service, layer, scaffold, version FROM service_layers "  # noqa: S608
            f"WHERE service IN ({marks}) ORDER BY service, layer",
            names,
        )
        for service, layer, scaffold, version in rows:
            found[service].append(LayerRef(layer, scaffold, version))
        return found

    def _services(self, db: sqlite3.Connection, rows: list[tuple[str, ...]]) -> list[Service]:
        layers = self._layers(db, [row[0] for row in rows])
        return [
            Service(
                name=name,
                owner=owner,
                description=description,
                repository=repository,
                layers=tuple(layers[name]),
                created_at=dt.datetime.fromisoformat(created_at),
            )
            for name, owner, description, repository, created_at in rows
        ]

    _COLUMNS = "name, owner, description, repository, created_at"

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
            return self._services(db, db.execute(sql + " ORDER BY name", params).fetchall())
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc

    # -- writes ------------------------------------------------------------------------

    def caller(self) -> Caller | None:
        return None  # a file on this machine has no users: whoever can write it may

    def register(self, service: Service, *, dry_run: bool = False) -> tuple[Service, bool]:
        if dry_run:
            existing = self.get(service.name)
            if existing is not None and (existing.owner, existing.repository) != (
                service.owner,
                service.repository,
            ):
                raise ConflictError(
                    f"service '{service.name}' is already registered "
                    f"(owner {existing.owner}, repository {existing.repository})",
                    hint="choose another name",
                )
            return existing or service, existing is None
        with self._transaction() as db:
            row = db.execute(
                f"SELECT {self._COLUMNS} FROM services WHERE name = ?",  # noqa: S608
                (service.name,),
            ).fetchall()
            if row:
                existing = self._services(db, row)[0]
                if (existing.owner, existing.repository) != (service.owner, service.repository):
                    raise ConflictError(
                        f"service '{service.name}' is already registered "
                        f"(owner {existing.owner}, repository {existing.repository})",
                        hint="choose another name",
                    )
                return existing, False
            db.execute(
                "INSERT INTO services (name, owner, description, repository, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    service.name,
                    service.owner,
                    service.description,
                    service.repository,
                    service.created_at.isoformat(),
                ),
            )
            db.executemany(
                "INSERT INTO service_layers (service, layer, scaffold, version) VALUES (?,?,?,?)",
                [(service.name, ref.layer, ref.scaffold, ref.version) for ref in service.layers],
            )
        return service, True

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
                "revision = ?, manifests = ? WHERE id = ? AND outcome = 'started'",
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
        for row in rows:
            (id_, service_, environment_, target, image, commit, source_time, actor, started,
             finished, outcome, message, findings, glass, rollback_of, restored, revision,
             manifests) = row  # fmt: skip
            found.append(
                Deployment(
                    id=id_,
                    service=service_,
                    environment=environment_,
                    target=target,
                    image=image,
                    source_commit=commit,
                    source_time=_when(source_time),
                    actor=actor,
                    started_at=_when(started) or _broken("started_at", id_),
                    finished_at=_when(finished),
                    outcome=outcome,
                    message=message,
                    findings=tuple(json.loads(findings)),
                    break_glass=glass,
                    rollback_of=rollback_of,
                    restored=restored,
                    revision=revision,
                    manifests=manifests,
                )
            )
        return found
