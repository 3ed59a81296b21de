"""What each rule of ``paved.repository_url`` answers for tricky repository URLs.

One table: for each URL, the browse URL, whether Backstage can read it, the source location
served for it, and whether other members can clone it. Then properties for any string: a URL
Backstage can read is served and can be cloned, and nothing any rule returns carries a user
or password.
"""

from __future__ import annotations

import doctest
import string

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import paved.repository_url
from paved.repository_url import (
    backstage_problem,
    browse_url,
    clone_problem,
    has_credentials,
    shown_url,
    source_location,
    without_credentials,
)

H = "h.example"
OK = None
CRED = "carries credentials"
USER = "user or password"

# url, browse_url, backstage_problem (None or a part of it), source_location, clone_problem
# (None or a part of it)
TABLE: list[tuple[str, str, str | None, str | None, str | None]] = [
    (f"https://{H}/a/b", f"https://{H}/a/b", OK, f"url:https://{H}/a/b/", OK),
    (f"https://{H}/a/b.git", f"https://{H}/a/b", OK, f"url:https://{H}/a/b/", OK),
    (f"https://{H}/a/b/", f"https://{H}/a/b", OK, f"url:https://{H}/a/b/", OK),
    (f"https://{H}/a/b.git/", f"https://{H}/a/b", OK, f"url:https://{H}/a/b/", OK),
    (f"https://{H}/a/b//", "", "empty segment", None, OK),
    (f"https://{H}//orders", "", "empty segment", None, OK),
    (f"https://{H}", "", "no repository path", None, OK),
    (f"http://{H}/a/b", "", OK, f"url:http://{H}/a/b/", OK),
    (f"https://{H}:8443/a/b", f"https://{H}:8443/a/b", OK, f"url:https://{H}:8443/a/b/", OK),
    (f"https://{H}:99999/a/b", "", "not an http(s) URL", None, "not the URL of a git host"),
    (f"https://{H}:port/a/b", "", "not an http(s) URL", None, "not the URL of a git host"),
    ("https://[::1]/a/b", "", OK, "url:https://[::1]/a/b/", OK),
    ("https://[::1/a/b", "", "not an http(s) URL", None, "not the URL of a git host"),
    ("https://::1]/a/b", "", "not an http(s) URL", None, "not the URL of a git host"),
    (f"https://u:s3cret@{H}/a/b.git", f"https://{H}/a/b", USER, None, CRED),
    (f"https://ghp_s3cret@{H}/a/b.git", f"https://{H}/a/b", USER, None, CRED),
    (f"https://u%40x:s3cret@{H}/a/b", f"https://{H}/a/b", USER, None, CRED),
    (f"git://s3cret@{H}/a/b", "", "not an http(s) URL", None, CRED),
    (f"ssh://git:s3cret@{H}/a/b", "", "not an http(s) URL", None, CRED),
    (f"ssh://git@{H}:2222/a/b.git", f"https://{H}/a/b", "not an http(s) URL", None, OK),
    (f"git@{H}:a/b.git", f"https://{H}/a/b", "not an http(s) URL", None, OK),
    (f"git@{H}:a/../b.git", "", "not an http(s) URL", None, "segments"),
    (f"https://{H}/a/../b", "", ". or .. segments", None, "segments"),
    (f"https://{H}/acme/./orders", "", ". or .. segments", None, "segments"),
    (f"https://{H}/acme/%2e%2e/orders", "", ". or .. segments", None, "segments"),
    (f"https://{H}/acme/%2E/orders", "", ". or .. segments", None, "segments"),
    (f"https://{H}/a/b?ref=x", "", "query or fragment", None, "query"),
    (f"https://{H}/a/b#x", "", "query or fragment", None, "fragment"),
    (f"https://{H}/a/b\n", "", "not an http(s) URL", None, "control character"),
    (f"https://{H}/acme/b c", "", "not an http(s) URL", None, "a space"),
    (f"https://{H}/a/b\u202e", "", "not an http(s) URL", None, "control character"),
    (f"https://{H}\\@evil/a/b", "", "not an http(s) URL", None, "backslash"),
    ("file:///srv/git/orders.git", "", "not an http(s) URL", None, "local path"),
    ("/srv/git/orders.git", "", "not an http(s) URL", None, "local path"),
    ("C:\\repos\\orders", "", "not an http(s) URL", None, "local path"),
    (f"git@{H}:a/b\n", "", "not an http(s) URL", None, "control character"),
    ("C:/repos/orders", "", "not an http(s) URL", None, "local path"),
    ("ftp://h.example/a/b", "", "not an http(s) URL", None, "not the URL of a git host"),
]  # fmt: skip


def test_the_examples_in_the_docstrings_hold() -> None:
    found = doctest.testmod(paved.repository_url)
    assert found.attempted >= 10
    assert found.failed == 0


@pytest.mark.parametrize(("url", "browse", "backstage", "location", "clone"), TABLE)
def test_what_each_rule_answers(
    url: str, browse: str, backstage: str | None, location: str | None, clone: str | None
) -> None:
    assert browse_url(url) == browse
    found = backstage_problem(url)
    assert found is None if backstage is None else backstage in (found or "")
    assert source_location(url) == location
    reachable = clone_problem(url)
    assert reachable is None if clone is None else clone in (reachable or "")
    for answer in (found, reachable, shown_url(url), without_credentials(url)):
        assert "s3cret" not in (answer or "")


def test_credentials_are_dropped_or_masked_and_a_login_name_kept() -> None:
    assert without_credentials(f"https://u:tok@{H}/a/b") == f"https://{H}/a/b"
    assert without_credentials(f"https://tok@{H}/a/b") == f"https://{H}/a/b"
    assert without_credentials(f"ssh://git:pw@{H}/a/b") == f"ssh://git@{H}/a/b"
    assert without_credentials(f"ssh://git@{H}/a/b") == f"ssh://git@{H}/a/b"
    assert without_credentials(f"git@{H}:a/b") == f"git@{H}:a/b"
    assert shown_url(f"https://u:tok@{H}/a/b") == f"https://***@{H}/a/b"
    assert shown_url(f"ssh://git:pw@{H}/a/b") == f"ssh://git:***@{H}/a/b"
    assert shown_url(f"https://{H}/a/\x1b[2J") == f"https://{H}/a/\\x1b[2J"


_URLISH = st.text(
    alphabet=st.sampled_from(
        [*string.ascii_letters[:6], *"0129:/@.%?#[]\\ ~-_", "\n", "é", "\u202e"]
    ),
    max_size=30,
)
_URLS = st.builds(
    lambda scheme, userinfo, rest: f"{scheme}{userinfo}{rest}",
    st.sampled_from(["https://", "http://", "HTTPS://", "ssh://", "git://", "git@", "file://", ""]),
    st.sampled_from(["", "u@", "u:s3cret@", "s3cret@", "a@b@"]),
    _URLISH,
)


@given(st.one_of(_URLS, st.text(max_size=40)))
@example(f"https://{H}/a/b.git/")
@example("https://[::1]/a")
def test_a_url_backstage_can_read_is_served_and_can_be_cloned(url: str) -> None:
    if backstage_problem(url) is None:
        location = source_location(url)
        assert location is not None
        assert location.startswith("url:http")
        assert clone_problem(url) is None
    else:
        assert source_location(url) is None


@given(st.one_of(_URLS, st.text(max_size=40)))
@example(f"git@{H}:acme/orders.git")
@example(f"ssh://git@{H}:22/acme/orders")
@example(f"https://tok@{H}:65535/acme/orders.git")
def test_a_browse_url_is_one_backstage_can_read(url: str) -> None:
    browse = browse_url(url)
    if browse:
        assert backstage_problem(browse) is None, browse
        assert clone_problem(browse) is None, browse


@given(st.one_of(_URLS, st.text(max_size=40)))
@example("ssh://s3cret@:@")  # no login name is kept when the user holds an @ of its own
def test_nothing_a_rule_returns_carries_credentials(url: str) -> None:
    answers = [
        browse_url(url),
        source_location(url),
        backstage_problem(url),
        clone_problem(url),
        without_credentials(url),
    ]
    secret = has_credentials(url)
    for answer in answers:
        assert answer is None or not has_credentials(answer), answer
        assert not secret or "s3cret" not in (answer or ""), answer
    assert not secret or "s3cret" not in shown_url(url)
    assert not has_credentials(without_credentials(url))
