"""The answers paved fills in for the road's repository questions.

The road layer asks ``repository_url`` (the URL Backstage links to and reads the source from)
and ``git_host`` (a self-hosted GitHub or GitLab server whose repositories get the CI slug
annotation); paved fills both in from the remote it pushes to and the settings' hosting API.
The rules about the URL itself are :mod:`paved.repository_url`'s.
"""

from __future__ import annotations

from typing import Any

from paved.repository_url import browse_url

__all__ = ["repository_answers"]


def repository_answers(
    questions: set[str],
    repository: str,
    ci_provider: Any,
    git_host: tuple[str, str] | None,
) -> dict[str, str]:
    """The answers paved fills in for the road questions among ``questions``.

    ``git_host`` is the settings' hosting API (``githost.api`` and the host of
    ``githost.api_url``): its host is the road's ``git_host`` when the service's CI runs on
    the same kind of host (``ci_provider``), so a self-hosted GitHub or GitLab gets the CI slug.
    """
    answers: dict[str, str] = {}
    if "repository_url" in questions:
        answers["repository_url"] = browse_url(repository)
    if "git_host" in questions and git_host is not None and git_host[0] == ci_provider:
        answers["git_host"] = git_host[1]
    return answers
