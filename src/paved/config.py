"""Where paved keeps its files, and the settings it runs with.

Settings come in layers, lowest to highest: built-in defaults, organisation settings from the
platform, the user file (``$XDG_CONFIG_HOME/paved/config.toml``), ``PAVED_*`` environment
variables, then flags (applied by the command that owns them). ``PAVED_HOME`` moves every
paved file (config, data, cache) under one folder.

Everything here takes the environment as an argument: nothing reads ``os.environ`` itself.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from paved.errors import InputError
from paved.names import MAX_LENGTH, NAME_PATTERN, name_problem
from paved.text import text_problem

__all__ = [
    "DEFAULT_ENVIRONMENTS",
    "KNOWN_SETTINGS",
    "ORGANISATION_FLAGS",
    "Paths",
    "Settings",
    "check_backstage_target",
    "githost_api_problem",
    "load_settings",
    "scaffold_url_problem",
]


#: The environments every organisation has, before its settings add any.
DEFAULT_ENVIRONMENTS = ("dev", "staging", "prod")


@dataclasses.dataclass(frozen=True)
class Paths:
    """The folders paved owns on this machine."""

    config_dir: Path
    data_dir: Path
    cache_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def catalog_db(self) -> Path:
        return self.data_dir / "catalog.db"

    @property
    def repos_dir(self) -> Path:
        """Bare repositories of the embedded git host."""
        return self.data_dir / "repos"

    @property
    def templates_dir(self) -> Path:
        """Tagged git repositories of the template store."""
        return self.data_dir / "templates"

    @property
    def locks_dir(self) -> Path:
        return self.data_dir / "locks"

    @classmethod
    def from_env(cls, env: Mapping[str, str], home: Path) -> Paths:
        """Resolve the folders from ``PAVED_HOME`` or the XDG base directories."""
        if paved_home := env.get("PAVED_HOME"):
            root = Path(paved_home).expanduser()
            return cls(root / "config", root / "data", root / "cache")

        def xdg(var: str, fallback: str) -> Path:
            value = env.get(var, "")
            base = Path(value) if value and Path(value).is_absolute() else home / fallback
            return base / "paved"

        return cls(
            config_dir=xdg("XDG_CONFIG_HOME", ".config"),
            data_dir=xdg("XDG_DATA_HOME", ".local/share"),
            cache_dir=xdg("XDG_CACHE_HOME", ".cache"),
        )


@dataclasses.dataclass(frozen=True)
class Settings:
    """The merged settings. Every field has a working built-in default."""

    #: URL of the platform catalog; empty means the local SQLite catalog.
    catalog_url: str = ""
    #: Remote repository URL for a new service, with ``{name}``; empty means the embedded
    #: git host (bare repositories under the data directory).
    githost_remote: str = ""
    #: The git host's API through which ``paved fleet update`` opens a change request for
    #: each branch it pushes: ``github``, ``gitlab``, or empty (the branch is the request).
    githost_api: str = ""
    #: That API's base URL; empty means the public service's (``DEFAULT_API_URLS`` in
    #: ``paved.githost.change_requests``). The token is never a setting: it comes from the
    #: environment.
    githost_api_url: str = ""
    #: The app-layer scaffold used when ``--template`` is not given.
    default_template: str = "service-python"
    #: The road-layer scaffold laid over every service.
    road_template: str = "paved-road"
    #: The GitOps environment repository (a git URL or path); empty means the embedded one,
    #: a bare repository under the data directory.
    deploy_repository: str = ""
    #: The oldest road-layer version a protected environment (prod) accepts; empty: any.
    deploy_min_road_version: str = ""
    #: Environments defined in the settings (``[environments.NAME]`` tables), merged over the
    #: built-in dev, staging and prod by ``paved.deploy``: ``{name: {field: value}}``.
    environments: Mapping[str, Mapping[str, str]] = dataclasses.field(default_factory=dict)
    #: Scaffolds an organisation keeps in its own git repository (``[scaffolds.NAME] url``):
    #: ``{name: url}``. paved renders ``name`` from there instead of the scaffold it bundles.
    scaffold_urls: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: An organisation's Backstage (its backend's base URL): ``paved new service`` registers
    #: each new service's ``catalog-info.yaml`` there too (docs/backstage.md). Empty: no.
    backstage_url: str = ""
    #: The static token Backstage accepts (``backend.auth.externalAccess``); empty: none.
    #: Only the person's own file or ``PAVED_BACKSTAGE_TOKEN``, never the platform's settings.
    backstage_token: str = dataclasses.field(default="", repr=False)
    #: The teams a local catalog knows (``[teams] names`` or ``PAVED_TEAMS``, comma-separated):
    #: ``paved new service --owner`` takes one of them. Empty: any valid name. A platform
    #: catalog knows its own teams (``GET /v1/teams``) and ignores these.
    teams: tuple[str, ...] = ()
    #: Where each value came from, for ``paved doctor`` and error messages.
    sources: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def environment_names(self) -> tuple[str, ...]:
        """The built-in environments, then those the settings define, each once."""
        defined = (name for name in self.environments if name not in DEFAULT_ENVIRONMENTS)
        return (*DEFAULT_ENVIRONMENTS, *defined)


# file key -> (field, environment variable)
_KEYS: dict[str, tuple[str, str]] = {
    "catalog.url": ("catalog_url", "PAVED_CATALOG_URL"),
    "githost.remote": ("githost_remote", "PAVED_GITHOST_REMOTE"),
    "githost.api": ("githost_api", "PAVED_GITHOST_API"),
    "githost.api_url": ("githost_api_url", "PAVED_GITHOST_API_URL"),
    "new.template": ("default_template", "PAVED_TEMPLATE"),
    "new.road_template": ("road_template", "PAVED_ROAD_TEMPLATE"),
    "deploy.repository": ("deploy_repository", "PAVED_DEPLOY_REPOSITORY"),
    "deploy.min_road_version": ("deploy_min_road_version", "PAVED_DEPLOY_MIN_ROAD_VERSION"),
    "backstage.url": ("backstage_url", "PAVED_BACKSTAGE_URL"),
    "backstage.token": ("backstage_token", "PAVED_BACKSTAGE_TOKEN"),
}

#: Every setting a file may hold, for the hint of an unknown one.
KNOWN_SETTINGS = (
    *sorted(_KEYS),
    "environments.NAME.FIELD",
    "scaffolds.NAME.url",
    "teams.names",
)
#: Settings only the platform's own settings file holds (``paved platform serve --settings``),
#: each true or false: the command they concern reads them from the platform's answer
#: (``onboarding.production_deploy``: ``paved onboard`` guides a first production deploy).
#: A member's file may not set them; the members' settings layer passes over them.
ORGANISATION_FLAGS = frozenset({"onboarding.production_deploy"})
#: The environment form of ``[teams] names``: names separated by commas.
TEAMS_VARIABLE = "PAVED_TEAMS"


def _teams(value: object, origin: str, *, from_env: bool = False) -> tuple[str, ...]:
    """The team names of ``[teams] names`` (a list of strings) or ``PAVED_TEAMS`` (a string
    of names separated by commas), each by the naming rule, each once, sorted."""
    if from_env and isinstance(value, str):
        names: list[object] = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, list):
        names = value
    else:
        raise InputError(f"setting 'teams.names' in {origin} must be a list of team names")
    for name in names:
        if not isinstance(name, str):
            raise InputError(f"setting 'teams.names' in {origin} must be a list of team names")
        if (problem := name_problem(name)) is not None:
            raise InputError(
                f"setting 'teams.names' in {origin}: team '{name}' {problem}",
                hint="a team name is lower-case letters, digits and '-', as in team-checkout",
            )
    return tuple(sorted({str(name) for name in names}))


#: The fields of an ``[environments.NAME]`` table (docs/deploy.md).
ENVIRONMENT_FIELDS = frozenset(
    {"target", "repository", "context", "namespace", "rollout_timeout", "protected"}
)


def _take_environment(
    key: str, value: Any, origin: str, environments: dict[str, dict[str, str]]
) -> None:
    """Take one ``environments.NAME.FIELD`` setting."""
    _, _, rest = key.partition(".")
    name, _, field = rest.rpartition(".")
    if not name:
        raise InputError(
            f"unknown setting '{key}' in {origin}",
            hint='define an environment as a table: [environments.NAME] target = "gitops"',
        )
    if not NAME_PATTERN.fullmatch(name) or len(name) > MAX_LENGTH:
        shown = name.encode("unicode_escape").decode("ascii")
        raise InputError(
            f"setting 'environments.{shown}' in {origin}: '{shown}' is not an environment name",
            hint="use lower-case words joined by '-', as in [environments.qa]",
        )
    if field not in ENVIRONMENT_FIELDS:
        raise InputError(
            f"unknown setting '{key}' in {origin}",
            hint="an environment takes: " + ", ".join(sorted(ENVIRONMENT_FIELDS)),
        )
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, int) and field == "rollout_timeout":
        value = f"{value}s"
    if not isinstance(value, str):
        raise InputError(f"setting '{key}' in {origin} must be a string")
    environments.setdefault(name, {})[field] = value


#: The URL schemes a scaffold's repository may have (``scaffolds.NAME.url``).
_SCAFFOLD_SCHEMES = frozenset({"https", "ssh", "git", "file"})
_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
#: git's remote-helper syntax, ``TRANSPORT::ADDRESS`` (``ext::``, ``fd::``): runs programs.
_HELPER = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::")
#: git's scp-like form, ``user@host:path``.
_SCP = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?:.+$")
#: The URLs copier takes for git repositories without a ``.git`` at the end.
_COPIER_GIT_PREFIXES = ("https://", "git://", "git@")
_SCAFFOLD_URL_HINT = (
    "give the scaffold's git repository as https://HOST/PATH.git, ssh://HOST/PATH.git, "
    "git://HOST/PATH.git or git@HOST:PATH.git (or, in your own config.toml, an absolute path "
    "or file:// URL ending in .git)"
)


def scaffold_url_problem(url: str, *, local: bool) -> str | None:
    """Say what is wrong with the URL of a scaffold's repository, or ``None`` when it is usable.

    The URL reaches ``git fetch`` and copier, so it is refused when git could read it as an
    option (a leading ``-``) or as a program to run (``ext::``, ``fd::`` and other remote
    helpers), and when it is no URL git fetches with: https, ssh, git, file, ``user@host:path``
    or an absolute path. A path or a ``file://`` URL names a folder on this machine, which only
    the person's own settings may point at (``local``). It ends in ``.git``, unless it is an
    https, git:// or ``git@`` URL, which copier reads as git without one.
    """
    from paved.githost import is_local_repository

    if url != url.strip():
        return "has white space around it"
    if (problem := text_problem(url)) is not None:
        return problem
    if url.startswith("-"):
        return "starts with '-', which git would read as an option"
    if _HELPER.match(url):
        return "names a git remote helper (TRANSPORT::ADDRESS), which paved does not run"
    scheme = _URL_SCHEME.match(url)
    if scheme is not None:
        if scheme.group(1) not in _SCAFFOLD_SCHEMES:
            return f"has the scheme {scheme.group(1)}://, not https, ssh, git or file"
        rest = url[scheme.end() :]
        if scheme.group(1) != "file" and (rest.startswith("/") or "/" not in rest.strip("/")):
            return "names no host and path"
    elif _SCP.match(url) is None and not url.startswith("/"):
        return "is neither a URL nor an absolute path"
    if not local and is_local_repository(url):
        return "is a folder on this machine, which other members cannot reach"
    if url.endswith("/"):
        return "ends in '/'"
    if not url.endswith(".git") and not url.startswith(_COPIER_GIT_PREFIXES):
        return "does not end in .git (copier reads only such a URL as a git repository)"
    return None


#: Keys that would hold a secret, which no settings file or platform may hand out.
_TOKEN_KEYS = frozenset({"githost.token", "githost.api_token"})
_ENV_ONLY_HINT = (
    "remove it; paved reads the git host's token from the environment only "
    "(PAVED_GITHOST_TOKEN, GITHUB_TOKEN or GITLAB_TOKEN)"
)


def githost_api_problem(key: str, value: str) -> str | None:
    """Say what is wrong with ``githost.api`` or ``githost.api_url``, or ``None``.

    ``githost.api`` names an API paved has an adapter for (or is empty); ``githost.api_url``
    is an https:// URL with no user, query or control character (or is empty).
    """
    from paved.githost.change_requests import API_NAMES, api_url_problem

    if key == "githost.api":
        if value and value not in API_NAMES:
            return f'is not one of {", ".join(API_NAMES)} (or "" for none)'
        return None
    if key == "githost.api_url" and value:
        return api_url_problem(value)
    return None


def _take_scaffold(key: str, value: Any, origin: str, urls: dict[str, str], *, local: bool) -> None:
    """Take one ``scaffolds.NAME.url`` setting; an empty URL means the bundled scaffold."""
    _, _, rest = key.partition(".")
    name, _, field = rest.rpartition(".")
    if not name or field != "url":
        raise InputError(
            f"unknown setting '{key}' in {origin}",
            hint='point a scaffold at a git repository with a table: [scaffolds.NAME] url = "URL"',
        )
    if not NAME_PATTERN.fullmatch(name) or len(name) > MAX_LENGTH:
        shown = name.encode("unicode_escape").decode("ascii")
        raise InputError(
            f"setting 'scaffolds.{shown}' in {origin}: '{shown}' is not a scaffold name",
            hint="use lower-case words joined by '-', as in [scaffolds.paved-road]",
        )
    if not isinstance(value, str):
        raise InputError(f"setting '{key}' in {origin} must be a string")
    if not value:
        urls.pop(name, None)
        return
    problem = scaffold_url_problem(value, local=local)
    if problem is not None:
        shown = value.encode("unicode_escape").decode("ascii")
        raise InputError(
            f"setting '{key}' in {origin}: '{shown}' {problem}", hint=_SCAFFOLD_URL_HINT
        )
    urls[name] = value


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{dotted}."))
        else:
            flat[dotted] = value
    return flat


def _read_user_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return _flatten(tomllib.load(handle))
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise InputError(
            f"configuration file {path} is not valid TOML ({exc})",
            hint="fix or remove the file",
        ) from exc
    except UnicodeDecodeError as exc:
        raise InputError(
            f"configuration file {path} is not UTF-8 (byte 0x{exc.object[exc.start]:02x} "
            f"at offset {exc.start})",
            hint="save it as UTF-8, or fix or remove the file",
        ) from exc
    except OSError as exc:
        raise InputError(f"configuration file {path} cannot be read ({exc.strerror})") from exc


def load_settings(
    paths: Paths,
    env: Mapping[str, str],
    organisation: Mapping[str, Any] | None = None,
) -> Settings:
    """Merge the layers into :class:`Settings`, raising :class:`InputError` on a bad value."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    environments: dict[str, dict[str, str]] = {}
    scaffold_urls: dict[str, str] = {}

    def take(layer: Mapping[str, Any], origin: str, *, local: bool = False) -> None:
        for key, value in layer.items():
            if key == "teams.names":
                values["teams"] = _teams(value, origin)
                sources["teams"] = origin
                continue
            if key.startswith("environments."):
                _take_environment(key, value, origin, environments)
                sources["environments"] = origin
                continue
            if key.startswith("scaffolds."):
                _take_scaffold(key, value, origin, scaffold_urls, local=local)
                sources["scaffold_urls"] = origin
                continue
            if key in _TOKEN_KEYS:
                raise InputError(
                    f"setting '{key}' in {origin}: a token is never a setting", hint=_ENV_ONLY_HINT
                )
            if key in ORGANISATION_FLAGS:
                if local:
                    raise InputError(
                        f"setting '{key}' in {origin} is the platform's, not a member's",
                        hint="the platform team sets it in the settings file of "
                        "paved platform serve --settings",
                    )
                if not isinstance(value, bool):
                    raise InputError(f"setting '{key}' in {origin} must be true or false")
                continue
            if key not in _KEYS and any(known.startswith(f"{key}.") for known in _KEYS):
                raise InputError(
                    f"setting '{key}' in {origin} must be a table",
                    hint="known settings in it: "
                    + ", ".join(k for k in sorted(_KEYS) if k.startswith(f"{key}.")),
                )
            if key not in _KEYS:
                raise InputError(
                    f"unknown setting '{key}' in {origin}",
                    hint="known settings: " + ", ".join(KNOWN_SETTINGS),
                )
            if not isinstance(value, str):
                raise InputError(f"setting '{key}' in {origin} must be a string")
            field = _KEYS[key][0]
            values[field] = value
            sources[field] = origin

    organisation_keys = _flatten(organisation or {})
    if "backstage.token" in organisation_keys:
        raise InputError(
            "setting 'backstage.token' in the platform settings: a token is never handed out "
            "by the platform",
            hint="remove it; each person sets backstage.token in their own config.toml or "
            "PAVED_BACKSTAGE_TOKEN",
        )
    take(organisation_keys, "the platform settings")
    take(_read_user_file(paths.config_file), str(paths.config_file), local=True)
    for field, var in _KEYS.values():
        if var in env:
            values[field] = env[var]
            sources[field] = f"${var}"
    if TEAMS_VARIABLE in env:
        values["teams"] = _teams(env[TEAMS_VARIABLE], f"${TEAMS_VARIABLE}", from_env=True)
        sources["teams"] = f"${TEAMS_VARIABLE}"
    if environments:
        values["environments"] = environments
    if scaffold_urls:
        values["scaffold_urls"] = scaffold_urls
    _check_remote_pattern(values.get("githost_remote", ""), sources.get("githost_remote", ""))
    from paved.githost.change_requests import redacted

    for key in ("githost.api", "githost.api_url"):
        field = _KEYS[key][0]
        problem = githost_api_problem(key, values.get(field, ""))
        if problem is not None:
            shown = redacted(values[field])
            raise InputError(
                f"setting '{key}' in {sources[field]}: '{shown}' {problem}",
                hint="set githost.api to github or gitlab, and githost.api_url to its https:// "
                "URL (or leave it empty for api.github.com or gitlab.com)",
            )
    _check_backstage_url(values.get("backstage_url", ""), sources.get("backstage_url", ""))
    return Settings(**values, sources=sources)


def check_backstage_target(settings: Settings) -> None:
    """The person's Backstage token goes only to a Backstage URL the person set (their own
    config.toml or ``$PAVED_BACKSTAGE_URL``), never to one the platform's settings name, and
    never in the clear over ``http://`` to another machine.

    Checked where Backstage is about to be called (``paved new service``'s plan), not when the
    settings load: a platform that names a Backstage must not stop every other command of a
    person who keeps a token."""
    from paved.backstage import cleartext_problem

    url, token, sources = settings.backstage_url, settings.backstage_token, settings.sources
    if not (url and token):
        return
    if sources.get("backstage_url") == "the platform settings":
        raise InputError(
            "backstage.url comes from the platform's settings; a token of yours is sent only "
            "to a Backstage URL you set yourself",
            hint="set backstage.url in your own config.toml (or PAVED_BACKSTAGE_URL), or unset "
            "backstage.token / PAVED_BACKSTAGE_TOKEN",
        )
    if (problem := cleartext_problem(url)) is not None:
        raise InputError(
            f"setting 'backstage.url' in {sources.get('backstage_url', '')}: {problem}",
            hint="use the https:// URL of the Backstage backend",
        )


def _check_backstage_url(url: str, origin: str) -> None:
    from paved.backstage import url_problem

    if url and (problem := url_problem(url)) is not None:
        shown = url.encode("unicode_escape").decode("ascii")
        raise InputError(
            f"setting 'backstage.url' in {origin}: '{shown}' {problem}",
            hint="set backstage.url to the Backstage backend's base URL, as in "
            "https://backstage.example.com",
        )


def _check_remote_pattern(pattern: str, origin: str) -> None:
    """``githost.remote``, whichever layer set it, is a usable pattern (or empty)."""
    from paved.githost import PATTERN_HINT, pattern_problem

    if pattern and (problem := pattern_problem(pattern)) is not None:
        shown = pattern.encode("unicode_escape").decode("ascii")
        raise InputError(
            f"setting 'githost.remote' in {origin}: '{shown}' {problem}", hint=PATTERN_HINT
        )
