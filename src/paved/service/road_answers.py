"""The answers the platform gives the road layer's questions, in one place.

The road layer asks three questions whose answers paved knows better than the person making the
service: ``repository_url`` (the URL Backstage links to and reads the source from), ``git_host``
(a self-hosted GitHub or GitLab server whose repositories get the CI slug annotation) and
``api_definition`` (the API document the catalog's API entity points at). ``paved new service``
and ``paved update`` (and so ``paved fleet``) fill them in with :func:`platform_answers`, so a
service made today and one updated from an older road end up with the same catalog entry. The
rules about the URL itself are :mod:`paved.repository_url`'s.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from paved.repository_url import browse_url

__all__ = ["API_DOCUMENT", "has_api_document", "platform_answers"]

#: The OpenAPI document an app layer ships at the service's root (service-python 0.2.0 on).
API_DOCUMENT = "openapi.json"


def has_api_document(root: Path, document: str = API_DOCUMENT) -> bool:
    """Whether the service at ``root`` has ``document`` (a relative path the road's
    ``api_definition`` rule accepts) as a regular file inside it.

    The tree is input: a symbolic link anywhere on the way (which could point anywhere, even
    out of the repository) does not count.
    """
    relative = Path(document)
    if relative.is_absolute() or ".." in relative.parts:
        return False
    path = root
    for part in relative.parts:
        path = path / part
        if path.is_symlink():
            return False
    return path.is_file()


def platform_answers(
    questions: Collection[str],
    *,
    repository: str,
    ci_provider: Any,
    git_host: tuple[str, str] | None,
    api_document: str,
    recorded: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """The answers paved fills in for the road questions among ``questions``.

    ``repository`` is the remote the service's repository lives at (its https browse URL is
    the answer; another remote gives none). ``git_host`` is the settings' hosting API
    (``githost.api`` and the host of ``githost.api_url``): its host is the road's ``git_host``
    when the service's CI runs on the same kind of host (``ci_provider``), so a self-hosted
    GitHub or GitLab gets the CI slug. ``api_document`` is the service's API document
    (``""``: none), which the catalog's API entity points at. A non-empty ``repository_url`` or
    ``git_host`` among ``recorded`` (the answers an update replays) is kept; ``api_definition``
    always follows ``api_document``.
    """
    recorded = recorded or {}
    answers: dict[str, str] = {}
    for key in ("repository_url", "git_host"):
        kept = recorded.get(key)
        if key in questions and isinstance(kept, str) and kept:
            answers[key] = kept
    if "repository_url" in questions and "repository_url" not in answers:
        answers["repository_url"] = browse_url(repository)
    own_host = git_host is not None and git_host[0] == ci_provider
    if "git_host" in questions and "git_host" not in answers and git_host and own_host:
        answers["git_host"] = git_host[1]
    if "api_definition" in questions:
        answers["api_definition"] = api_document
    return answers
