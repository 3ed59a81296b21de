"""What a rollback restores: chosen from the environment's own history, checked as input.

The gitops target chooses from the environment repository's commits (what ran, whatever the
records say); the kubernetes target, which keeps no history, from the records. Having
nothing to restore is the person's error (exit 2), not a failed deployment.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from paved.deploy._environments import Environment
from paved.deploy._gitops import Change
from paved.deploy._image import parse_image
from paved.errors import InputError
from paved.models import Deployment

__all__ = [
    "Restore",
    "change_stack",
    "checked_image",
    "choose_from_changes",
    "choose_from_records",
    "live_stack",
]

_COMMIT = re.compile(r"[0-9a-f]{7,64}")


@dataclasses.dataclass(frozen=True)
class Restore:
    """What a rollback puts back, and the deployment it recovers from."""

    #: The deployment whose manifests come back (``None``: a commit no deploy made).
    restored: int | None
    image: str
    source_commit: str | None
    source_time: dt.datetime | None
    recovers: int | None
    #: gitops: the environment commit to restore; kubernetes: the manifests to apply.
    revision: str | None = None
    manifests: str | None = None
    #: kubernetes: the manifests applied now (what a dry run compares with).
    running: str = ""


def live_stack(history: list[Deployment]) -> list[Deployment]:
    """The succeeded deployments whose manifests are, in order, what the environment ran."""
    by_id = {d.id: d for d in history}
    stack: list[Deployment] = []
    for d in history:
        if d.outcome != "succeeded":
            continue
        if d.restored is None:
            # A redeploy of the same image from the same commit changed nothing: it is not a
            # new entry to roll back from (or rollback would "restore" what already runs).
            if stack and (stack[-1].image, stack[-1].source_commit) == (d.image, d.source_commit):
                continue
            stack.append(d)
            continue
        ids = [s.id for s in stack]
        if d.restored in ids:
            del stack[ids.index(d.restored) + 1 :]
        elif d.restored in by_id:
            stack.append(by_id[d.restored])
    return stack


def _nothing_to_restore(service: str, environment: Environment) -> InputError:
    return InputError(
        f"{service} has no successful deployment in {environment.name} to roll back to",
        hint=f"see paved deployments list --service {service} --env {environment.name}",
    )


def _no_earlier(service: str, environment: Environment, live: int | None) -> InputError:
    first = f"deployment {live} is the first" if live is not None else "it holds one version"
    return InputError(
        f"{service} has no earlier successful deployment in {environment.name} to roll "
        f"back to ({first})",
        hint="deploy the image you want with paved deploy --image",
    )


def _not_a_target(to: int, service: str, environment: Environment) -> InputError:
    return InputError(
        f"deployment {to} is not a successful deployment of {service} in {environment.name}",
        hint=f"see paved deployments list --service {service} --env {environment.name}",
    )


def choose_from_records(
    history: list[Deployment], to: int | None, environment: Environment, service: str
) -> Restore:
    """The kubernetes target's choice: from the records, the only history it has."""
    stack = live_stack(history)
    ran = [d for d in history if d.outcome in ("succeeded", "failed")]
    if not stack:
        raise _nothing_to_restore(service, environment)
    latest = ran[-1]
    applied_and_failed = (
        latest.outcome == "failed"
        and latest.target == "kubernetes"
        and latest.manifests is not None
        and latest.id is not None
        and stack[-1].id is not None
        and latest.id > stack[-1].id
    )
    live = latest if applied_and_failed else stack[-1]
    if to is not None:
        chosen = next((d for d in history if d.id == to), None)
        if chosen is None or chosen.outcome != "succeeded":
            raise _not_a_target(to, service, environment)
        if chosen.id == live.id:
            raise InputError(f"deployment {to} is what {environment.name} runs already")
    elif applied_and_failed:
        chosen = stack[-1]
    elif len(stack) < 2:
        raise _no_earlier(service, environment, live.id)
    else:
        chosen = stack[-2]
    return Restore(
        restored=chosen.id,
        image=chosen.image,
        source_commit=chosen.source_commit,
        source_time=chosen.source_time,
        recovers=live.id,
        manifests=chosen.manifests or "",
        running=live.manifests or "",
    )


def change_stack(changes: list[Change]) -> list[Change]:
    """The commits whose manifests are, in order, what the environment ran: a deploy adds
    one, a rollback goes back to the one it restored, a removal clears them."""
    deploys = {
        (c.catalog, c.deployment): c
        for c in changes
        if c.deployment is not None and c.restored is None
    }
    stack: list[Change] = []
    for change in changes:
        if not change.present:
            stack.clear()
            continue
        if change.restored is not None:
            restored = (change.catalog, change.restored)
            ids = [(s.catalog, s.deployment) for s in stack]
            if restored in ids:
                del stack[ids.index(restored) + 1 :]
                continue
            change = deploys.get(restored, change)
        stack.append(change)
    return stack


def choose_from_changes(
    changes: list[Change],
    to: int | None,
    environment: Environment,
    service: str,
    history: list[Deployment],
    catalog: str,
) -> Restore:
    """The gitops target's choice: from the environment repository's own history, never
    from the records alone (a record may be missing or open; the commits are what ran)."""
    stack = change_stack(changes)
    if not stack:
        raise _nothing_to_restore(service, environment)
    live = stack[-1]
    ours = {c.revision for c in changes if c.catalog == catalog}  # ids are this catalog's
    if to is not None:
        found = [
            c
            for c in changes
            if c.deployment == to and c.restored is None and c.present and c.revision in ours
        ]
        if not found:
            raise _not_a_target(to, service, environment)
        if len(found) > 1:
            raise InputError(
                f"the environment repository holds {len(found)} commits of deployment {to}",
                hint="see git log --grep 'Paved-Deployment' in the environment repository",
            )
        chosen = found[0]
        if chosen.revision == live.revision:
            raise InputError(f"deployment {to} is what {environment.name} runs already")
    elif len(stack) < 2:
        raise _no_earlier(service, environment, live.deployment)
    else:
        chosen = stack[-2]
    record = next(
        (d for d in history if chosen.revision in ours and d.id == chosen.deployment), None
    )
    image = chosen.image or (record.image if record is not None else None)
    if image is None:
        raise InputError(
            f"environment commit {chosen.revision[:12]} does not say which image it deployed",
            hint="choose another deployment with --to, or deploy the image with paved deploy",
        )
    return Restore(
        restored=chosen.deployment if chosen.revision in ours else None,
        image=image,
        source_commit=chosen.source_commit or (record.source_commit if record else None),
        source_time=record.source_time if record is not None else None,
        recovers=live.deployment if live.revision in ours else None,
        revision=chosen.revision,
    )


def checked_image(restore: Restore) -> str:
    """The restored image, parsed again: the records and the commits' trailers are input too."""
    image = str(parse_image(restore.image))
    if restore.source_commit is not None and not _COMMIT.fullmatch(restore.source_commit):
        raise InputError(f"deployment {restore.restored} records a malformed source commit")
    return image
