"""The organisation settings a platform hands its clients, read from a TOML file.

The file has the shape of a member's config.toml and is checked by the same rules
(``paved.config``): known keys only, strings only, ``[environments.NAME]`` tables with their
known fields, ``githost.api`` a known API and ``githost.api_url`` an https:// URL, and never
a token (each member's comes from their own environment). On top of those, what the platform
hands out must work on every member's machine: ``catalog.url`` is refused (the platform is the
catalog; members find it with ``paved login``), ``githost.remote`` must hold ``{name}``, and
every repository (a scaffold's ``[scaffolds.NAME] url`` among them) must be a URL other members
can reach, by the rule the platform applies to registrations.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from paved.config import (
    _ENV_ONLY_HINT,
    _KEYS,
    _TOKEN_KEYS,
    KNOWN_SETTINGS,
    ORGANISATION_FLAGS,
    _flatten,
    _take_environment,
    _take_scaffold,
    githost_api_problem,
)
from paved.errors import InputError
from paved.githost import pattern_problem
from paved.githost.change_requests import redacted
from paved.repository_url import clone_problem, shown_url

__all__ = ["organisation_settings"]

#: A service name to try ``githost.remote`` with.
_SAMPLE = "payments"


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"settings file {path} is not valid TOML ({exc})") from None
    except OSError as exc:
        raise InputError(
            f"settings file {path} cannot be read ({exc.strerror})",
            hint="give the path of a TOML file in the shape of config.toml",
        ) from None


def _reachable(key: str, value: str, origin: str) -> None:
    if clone_problem(value) is not None:
        raise InputError(
            f"setting '{key}' in {origin} is '{shown_url(value)}', which other members cannot "
            "reach",
            hint="use a URL of the organisation's git host: https://, ssh://, git:// "
            "or git@host:path",
        )


def organisation_settings(path: Path) -> dict[str, Any]:
    """The settings in ``path``, checked, in the shape of config.toml (nested tables)."""
    origin = str(path)
    settings: dict[str, Any] = {}
    environments: dict[str, dict[str, str]] = {}
    scaffolds: dict[str, str] = {}
    for key, value in _flatten(_read(path)).items():
        if key.startswith("environments."):
            _take_environment(key, value, origin, environments)
            continue
        if key.startswith("scaffolds."):
            if value == "":
                raise InputError(
                    f"setting '{key}' in {origin} is empty",
                    hint="leave the table out to offer the scaffold paved bundles",
                )
            _take_scaffold(key, value, origin, scaffolds, local=False)
            continue
        if key in _TOKEN_KEYS:
            raise InputError(
                f"setting '{key}' in {origin}: a token is never an organisation setting",
                hint=_ENV_ONLY_HINT,
            )
        if key == "backstage.token":
            raise InputError(
                f"setting '{key}' in {origin}: a token is never an organisation setting",
                hint="each member sets backstage.token in their own config.toml or "
                "PAVED_BACKSTAGE_TOKEN",
            )
        if key in ORGANISATION_FLAGS:
            if not isinstance(value, bool):
                raise InputError(f"setting '{key}' in {origin} must be true or false")
            section, _, field = key.partition(".")
            settings.setdefault(section, {})[field] = value
            continue
        if key not in _KEYS:
            raise InputError(
                f"unknown setting '{key}' in {origin}",
                hint="known settings: " + ", ".join((*KNOWN_SETTINGS, *sorted(ORGANISATION_FLAGS))),
            )
        if key == "catalog.url":
            raise InputError(
                f"setting 'catalog.url' in {origin} is not an organisation setting",
                hint="members reach the platform's catalog with paved login URL",
            )
        if not isinstance(value, str):
            raise InputError(f"setting '{key}' in {origin} must be a string")
        if key == "githost.remote":
            problem = pattern_problem(value)  # the members' own rule, from one owner
            if problem is not None:
                raise InputError(
                    f"setting 'githost.remote' in {origin} {problem}",
                    hint="use {name} where the service name goes: git@host:team/{name}.git",
                )
            sample = value.format(name=_SAMPLE)
            _reachable(key, sample, origin)
        if (problem := githost_api_problem(key, value)) is not None:
            raise InputError(
                f"setting '{key}' in {origin} is '{redacted(value)}', which {problem}",
                hint="githost.api is github or gitlab; githost.api_url the API's https:// URL",
            )
        if key == "deploy.repository":
            _reachable(key, value, origin)
        section, _, field = key.partition(".")
        settings.setdefault(section, {})[field] = value
    for name, fields in environments.items():
        if "repository" in fields:
            _reachable(f"environments.{name}.repository", fields["repository"], origin)
    for name, url in scaffolds.items():
        _reachable(f"scaffolds.{name}.url", url, origin)
    if environments:
        settings["environments"] = environments
    if scaffolds:
        settings["scaffolds"] = {name: {"url": url} for name, url in scaffolds.items()}
    return settings
