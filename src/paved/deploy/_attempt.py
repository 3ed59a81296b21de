"""The record of one attempt: a journal entry opened before its effect and closed after it.

An attempt that ends before any effect is recorded whole, once; one that reaches its effect
is opened as ``started`` first, holds this machine's claim while it runs, and is closed with
the outcome. Whatever ends it after it was opened, the outcome is what the environment shows
(docs/deploy.md, "Records"); a process killed outright leaves the entry for the next reader
to settle (:mod:`paved.deploy._journal`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from paved.deploy._environments import Environment
from paved.deploy._gitops import catalog_key
from paved.deploy._journal import Claim, commits_of
from paved.deploy._model import DeployDeps
from paved.errors import AuthError, GuardrailBlocked, PavedError
from paved.models import Deployment, Outcome
from paved.text import escaped

__all__ = ["Attempt"]


class Attempt:
    """The journal entry of one attempt: opened before its effect, closed after it.

    An attempt that ends before any effect (the gate refused, the overlay did not build) is
    recorded whole, once; one cancelled (Ctrl-C) before it is opened changed nothing and
    leaves no record. One that reaches its effect is opened as ``started`` first (with a
    platform, this is where the platform authorises it: nothing is pushed or applied after
    a refusal) and closed with the outcome; the environment commit carries its id. Whatever
    ends it after it was opened, the outcome is what the environment repository shows
    (docs/deploy.md, "Records"); a process killed outright leaves the entry
    open for the next reader to settle (:mod:`paved.deploy._journal`).
    """

    def __init__(
        self, deps: DeployDeps, destination: Environment, *, record: bool, **fields: Any
    ) -> None:
        self.deps = deps
        self.destination = destination
        self.enabled = record
        self.started = deps.clock()
        self.fields: dict[str, Any] = {"target": "gitops", "image": "", **fields}
        self.opened: Deployment | None = None
        self.recorded: Deployment | None = None
        #: The effect happened (pushed or applied): an interrupt after it is no failure.
        self.applied = False
        #: A push was tried: the change may have landed, whatever the error says.
        self.pushing = False
        self.claim: Claim | None = None
        #: The catalog's name in the environment commit (``Paved-Catalog``).
        self.catalog_key = catalog_key(deps.catalog().location)

    def set(self, **fields: Any) -> None:
        self.fields.update(fields)

    def start(self) -> int | None:
        """Open the entry; returns its id. The platform may refuse (AuthError)."""
        if not self.enabled:
            return None
        catalog = self.deps.catalog()
        self.claim = Claim(
            self.deps.data_dir, catalog.location, self.fields["service"], self.destination.name
        )
        self.claim.take(self.started, self.deps.progress)
        self.started = self.deps.clock()  # after any wait: the attempt runs from here
        self.opened = catalog.start_deployment(
            Deployment(**self.fields, started_at=self.started, finished_at=None, outcome="started")
        )
        assert self.opened.id is not None
        self.claim.opened(self.started, self.opened.id)
        return self.opened.id

    def record(self, outcome: Outcome, message: str) -> Deployment | None:
        if not self.enabled or self.recorded is not None:
            return self.recorded
        message = escaped(message)
        if self.opened is not None and self.opened.id is not None:
            self.recorded = self.deps.catalog().finish_deployment(
                self.opened.id,
                outcome=outcome,
                finished_at=self.deps.clock(),
                message=message,
                revision=self.fields.get("revision"),
                manifests=self.fields.get("manifests"),
            )
            if self.claim is not None:
                self.claim.closed()
            return self.recorded
        deployment = Deployment(
            **self.fields,
            started_at=self.started,
            finished_at=self.deps.clock(),
            outcome=outcome,
            message=message,
        )
        self.recorded = self.deps.catalog().record_deployment(deployment)
        return self.recorded

    @contextmanager
    def recording(self) -> Iterator[None]:
        """Record a failure (or a refusal) of whatever runs inside, then let it through."""
        try:
            yield
        except AuthError:
            if self.opened is not None:  # refused after opening: close it
                self._record_quietly("failed", "refused by the platform")
            raise  # refused before opening: nothing happened, and the platform audited it
        except GuardrailBlocked as exc:
            self._record_quietly("refused", str(exc))
            raise
        except (PavedError, KeyboardInterrupt) as exc:
            reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
            if self.opened is not None:
                self._settle(reason)
            elif isinstance(exc, PavedError):
                self._record_quietly("failed", reason)
            raise
        finally:
            if self.claim is not None:
                self.claim.release()

    def _settle(self, reason: str) -> None:
        """Close an opened entry after a failure with what the environment really holds."""
        if self.applied:
            self._record_quietly("succeeded", f"{reason} after the change was made")
            return
        if self.destination.target != "gitops" or not self.pushing:
            self._record_quietly("failed", reason)
            return
        assert self.opened is not None
        assert self.opened.id is not None
        try:
            found = (
                commits_of(
                    self.destination, self.fields["service"], self.deps.env, self.catalog_key
                )
                or {}
            ).get(self.opened.id, [])
        except (PavedError, KeyboardInterrupt) as exc:
            self.deps.progress(
                f"warning: deployment {self.opened.id} stays open ({escaped(str(exc))}); "
                "paved settles it the next time it reads the records"
            )
            return
        if len(found) != 1 or found[0].image != self.fields["image"]:
            self._record_quietly("failed", reason)
        else:
            self.set(revision=found[0].revision)
            self._record_quietly("succeeded", f"{reason}, but the change had landed")

    def before_push(self, attempt: int) -> None:
        self.pushing = True
        if self.deps.before_push is not None:
            self.deps.before_push(attempt)

    def _record_quietly(self, outcome: Outcome, message: str) -> None:
        try:
            self.record(outcome, message)
        except PavedError as exc:  # the original error matters more; say this one too
            self.deps.progress(f"warning: the attempt could not be recorded: {exc}")
