"""What a fleet roll-out is: its request, one outcome per service, and its JSON shape."""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import Any

from paved.errors import InputError

__all__ = [
    "FINAL",
    "FleetRequest",
    "Mode",
    "Outcome",
    "Status",
    "describe",
    "parse_waves",
    "wave_ends",
]


class Status(enum.StrEnum):
    PENDING = "pending"
    UP_TO_DATE = "up-to-date"  # the default branch already holds the version
    DECLINED = "declined"  # an active decline in the service covers the version
    READY = "ready"  # a clean update, checked by the gate, on a pushed branch
    PR_OPEN = "pr-open"  # ... and a pull or merge request open for it
    CONFLICTED = "conflicted"  # a branch whose commit lists the conflicts, for a person
    REFUSED = "refused"  # the guardrails refused the updated service: nothing pushed
    FAILED = "failed"  # an error (a remote, a render): nothing pushed
    MERGED = "merged"  # the default branch holds the update


#: What a re-run of the same roll-out keeps instead of doing again.
FINAL = frozenset(
    {
        Status.UP_TO_DATE,
        Status.DECLINED,
        Status.READY,
        Status.PR_OPEN,
        Status.CONFLICTED,
        Status.REFUSED,
        Status.MERGED,
    }
)


class Mode(enum.StrEnum):
    BRANCH = "branch"  # push a branch (and open a request where a git host API is set)
    DIRECT = "direct"  # push the clean update to the default branch


@dataclasses.dataclass(frozen=True)
class FleetRequest:
    layer: str = "road"
    to: str | None = None
    owner: str | None = None
    template: str | None = None
    parallel: int = 2
    waves: tuple[str, ...] = ("100%",)
    max_failures: int | None = None
    mode: Mode = Mode.BRANCH
    dry_run: bool = False

    def rollout_id(self, versions: Mapping[str, str]) -> str:
        """The same command gives the same id, so running it again carries on its roll-out."""
        key = repr(
            (self.layer, sorted(versions.items()), self.owner, self.template, self.mode.value)
        )
        digest = hashlib.sha256(key.encode()).hexdigest()[:10]
        shown = "-".join(sorted(set(versions.values()))) or "none"
        made = f"{self.layer}-{shown}-{self.mode.value}-{digest}".lower()
        # the platform's rule for an id: [a-z0-9-], 16 to 64 characters
        return "".join(c if c.isascii() and (c.isalnum() or c == "-") else "-" for c in made)[
            -64:
        ].lstrip("-")


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What happened to one service (what a worker reports, and the journal keeps)."""

    service: str
    owner: str
    status: Status
    scaffold: str = ""
    current: str = ""
    target: str = ""
    branch: str | None = None
    detail: str = ""
    conflicts: tuple[str, ...] = ()
    counts: Mapping[str, int] = dataclasses.field(default_factory=dict)
    request: str | None = None
    #: The default branch the update's branch would merge into.
    base: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "owner": self.owner,
            "status": self.status.value,
            "scaffold": self.scaffold,
            "from": self.current,
            "to": self.target,
            "branch": self.branch,
            "detail": self.detail,
            "conflicts": list(self.conflicts),
            "counts": dict(self.counts),
            "request": self.request,
            "base": self.base,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Outcome:
        """An outcome from the journal (input: every field checked; ValueError otherwise)."""
        try:
            counts = data["counts"]
            if not isinstance(counts, dict) or not all(
                isinstance(k, str) and isinstance(v, int) for k, v in counts.items()
            ):
                raise ValueError("counts")
            conflicts = data["conflicts"]
            if not isinstance(conflicts, list) or not all(isinstance(c, str) for c in conflicts):
                raise ValueError("conflicts")
            texts = [data[key] for key in ("service", "owner", "scaffold", "from", "to", "detail")]
            if not all(isinstance(text, str) for text in texts):
                raise ValueError("text")
            for key in ("branch", "request", "base"):
                if data[key] is not None and not isinstance(data[key], str):
                    raise ValueError(key)
            return cls(
                service=data["service"],
                owner=data["owner"],
                status=Status(data["status"]),
                scaffold=data["scaffold"],
                current=data["from"],
                target=data["to"],
                branch=data["branch"],
                detail=data["detail"],
                conflicts=tuple(conflicts),
                counts=counts,
                request=data["request"],
                base=data["base"],
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not an outcome ({exc})") from None


def parse_waves(text: str) -> tuple[str, ...]:
    """``1,10%,100%``: each wave's size, cumulative; the last must reach 100%."""
    waves = tuple(part.strip() for part in text.split(",") if part.strip())
    for wave in waves:
        number = wave.removesuffix("%")
        if (
            not (number.isascii() and number.isdigit())
            or int(number) == 0
            or (wave.endswith("%") and int(number) > 100)
        ):
            raise InputError(
                f"--waves {text!r}: '{wave}' is not a number of services or a percentage",
                hint="for example --waves 1,10%,100% (one canary, then a tenth, then all)",
            )
    if not waves or waves[-1] != "100%":
        raise InputError(
            f"--waves {text!r} does not end at 100%", hint="end with 100%: --waves 1,10%,100%"
        )
    return waves


def wave_ends(waves: Sequence[str], total: int) -> list[int]:
    """How many services have been started when each wave ends (increasing, last = total)."""
    ends: list[int] = []
    for wave in waves:
        size = math.ceil(total * int(wave[:-1]) / 100) if wave.endswith("%") else int(wave)
        end = min(total, max(size, ends[-1] if ends else 0))
        if not ends or end > ends[-1]:
            ends.append(end)
    if not ends or ends[-1] != total:
        ends.append(total)
    return [end for end in ends if end > 0]


def describe(
    rollout: str,
    outcomes: Sequence[Outcome],
    *,
    kind: str,
    dry_run: bool = False,
    stopped: str | None = None,
) -> dict[str, Any]:
    """The documented JSON shape (docs/schemas/fleet.schema.json)."""
    totals: dict[str, int] = {}
    for outcome in outcomes:
        totals[outcome.status.value] = totals.get(outcome.status.value, 0) + 1
    return {
        "schema": f"paved/fleet-{kind}/v1",
        "rollout": rollout,
        "dry_run": dry_run,
        "stopped": stopped,
        "totals": dict(sorted(totals.items())),
        "services": [outcome.to_json() for outcome in outcomes],
    }
