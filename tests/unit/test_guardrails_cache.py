"""The parse cache: a cached parse finds exactly what a cold one finds, on the road's own
Terraform; a damaged, hostile or unsigned entry is a miss, never a crash or another finding;
entries are written whole, bounded, and named by everything a parse depends on."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from paved.config import Paths
from paved.guardrails import BUILTIN_RULES, ServiceTree, check
from paved.guardrails._cache import MAX_ENTRY_BYTES, ParseCache, same_value
from tests.helpers import SCAFFOLDS
from tests.unit.test_guardrails_data import HARDENED

TODAY = dt.date(2026, 3, 1)
BASE = {"service_name": "payments-api", "owner": "team-a", "description": "Takes money."}
#: The road rendered with each of these answers is a real sample of what paved checks.
SAMPLES: dict[str, dict[str, Any]] = {
    "defaults": {},
    "every resource and data resource": {
        "resources": ["s3-read", "sqs-send", "dynamodb-rw", "secret-read"],
        "data_resources": [
            {"kind": "database", "name": "orders", "engine": "postgres", "size": "small"},
            {"kind": "bucket", "name": "uploads"},
            {"kind": "queue", "name": "jobs", "dead_letter": True},
        ],
        "ci_provider": "gitlab",
    },
    "internal": {"exposure": "internal", "resources": ["s3-read"]},
}
BROKEN_TF = 'resource "aws_s3_bucket" "b" {\n  bucket = \n'


def render_road(destination: Path, answers: dict[str, Any]) -> Path:
    data = destination.parent / f"{destination.name}-answers.yml"
    data.write_text(yaml.safe_dump({**BASE, **answers}), encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "copier", "copy", "--quiet", "--defaults",
         "--data-file", str(data), str(SCAFFOLDS / "paved-road"), str(destination)],
        check=True, capture_output=True,
    )  # fmt: skip
    return destination


def findings(root: Path, cache: ParseCache | bool) -> list[tuple[str, str, str, str]]:
    report = check(root, today=TODAY, env=os.environ, rules=BUILTIN_RULES, cache=cache)
    return [(f.rule, f.location, f.message, f.status) for f in report.findings]


def no_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any parse from here on fails the test: every result must come from the cache."""
    import hcl2

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("python-hcl2 was called: the cache missed")

    monkeypatch.setattr(hcl2, "loads", refuse)


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("road-samples")
    made = {label: render_road(root / f"s{n}", a) for n, (label, a) in enumerate(SAMPLES.items())}
    hardened = made["every resource and data resource"].parent / "hardened"
    shutil.copytree(made["defaults"], hardened)
    for path, text in HARDENED.items():
        assert text is not None
        (hardened / path).parent.mkdir(parents=True, exist_ok=True)
        (hardened / path).write_text(text, encoding="utf-8")
    (hardened / "terraform" / "broken.tf").write_text(BROKEN_TF, encoding="utf-8")
    made["hardened data files and a broken .tf"] = hardened
    return made


def cache_in(tmp_path: Path) -> ParseCache:
    return ParseCache(tmp_path / "cache" / "parsed", tmp_path / "data" / "cache.key")


def entries(cache: ParseCache) -> list[Path]:
    return sorted(cache.folder.glob("*.entry"))


@pytest.mark.slow
@pytest.mark.parametrize("label", [*SAMPLES, "hardened data files and a broken .tf"])
def test_a_cached_parse_finds_exactly_what_a_cold_one_finds(
    samples: dict[str, Path], label: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = samples[label]
    assert list(root.glob("terraform/*.tf"))
    cold = findings(root, cache=False)
    cache = cache_in(tmp_path)
    assert findings(root, cache) == cold  # the first run fills the cache
    assert cache.stats["written"] > 0
    assert cache.stats["hits"] == 0
    no_parser(monkeypatch)
    again = cache_in(tmp_path)  # another run: a new process would read the same files
    assert findings(root, again) == cold
    assert again.stats["hits"] == cache.stats["written"]
    assert again.stats["written"] == 0
    if "broken" in label:  # a parse error is kept too, and reported the same way
        assert any(f[0] == "PAVED-REPO-002" and "broken.tf" in f[1] for f in cold)


def damage(path: Path, how: str, originals: dict[Path, bytes]) -> None:
    data = originals[path]
    header, body = data.split(b"\n", 1)
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        path.write_bytes(os.urandom(200))
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "a byte of the body changed":
        path.write_bytes(header + b"\n" + body.replace(b'"', b"'", 1))
    elif how == "another value, unsigned":  # valid JSON of the right shape, made by hand
        path.write_bytes(header + b"\n" + json.dumps({"value": {}}).encode())
    elif how == "another value, its MAC made without the key":
        import hashlib
        import hmac

        name = path.name.removesuffix(".entry")
        forged = json.dumps({"value": {}}).encode()
        mac = hmac.new(b"\0" * 32, name.encode() + b"\n" + forged, hashlib.sha256).hexdigest()
        path.write_bytes(f"paved-parse-cache 1 {name} {mac}\n".encode() + forged)
    elif how == "another entry's contents":
        other = next(p for p in sorted(originals) if p != path)
        path.write_bytes(originals[other])
    elif how == "a newer format":
        newer = header.replace(b"paved-parse-cache 1 ", b"paved-parse-cache 2 ")
        path.write_bytes(newer + b"\n" + body)
    elif how == "deeply nested":
        path.write_bytes(header + b"\n" + b"[" * 200_000 + b"]" * 200_000)
    elif how == "too large":
        path.write_bytes(header + b"\n" + b" " * (MAX_ENTRY_BYTES + 1))
    elif how == "a folder":
        path.unlink()
        path.mkdir()
    elif how == "a link":
        target = path.with_suffix(".elsewhere")
        path.rename(target)
        path.symlink_to(target)
    elif how == "a fifo":
        path.unlink()
        os.mkfifo(path)
    else:
        raise AssertionError(how)


DAMAGE = [
    "truncated",
    "garbage",
    "empty",
    "a byte of the body changed",
    "another value, unsigned",
    "another value, its MAC made without the key",
    "another entry's contents",
    "a newer format",
    "deeply nested",
    "too large",
    "a folder",
    "a link",
    "a fifo",
]


@pytest.mark.slow
@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_or_hostile_entry_is_a_miss(
    samples: dict[str, Path], how: str, tmp_path: Path
) -> None:
    root = samples["every resource and data resource"]
    cold = findings(root, cache=False)
    cache = cache_in(tmp_path)
    findings(root, cache)
    originals = {path: path.read_bytes() for path in entries(cache)}
    assert len(originals) > 1
    for path in originals:
        damage(path, how, originals)
    again = cache_in(tmp_path)
    assert findings(root, again) == cold
    assert again.stats["hits"] == 0
    if how not in ("a folder",):  # a folder in the way cannot be replaced: it costs time only
        assert again.stats["written"] == cache.stats["written"]  # each entry is made again
        third = cache_in(tmp_path)
        assert findings(root, third) == cold
        assert third.stats["hits"] == cache.stats["written"]


def test_a_cache_from_elsewhere_without_its_key_is_all_misses(tmp_path: Path) -> None:
    tree = tmp_path / "svc"
    (tree / "terraform").mkdir(parents=True)
    (tree / "terraform" / "main.tf").write_text('variable "a" {\n  default = 1\n}\n')
    first = cache_in(tmp_path)
    ServiceTree(tree, today=TODAY, env=os.environ, cache=first).hcl("terraform/main.tf")
    assert first.stats["written"] == 1
    first.key_file.unlink()  # the cache folder copied to a machine that has another key
    second = cache_in(tmp_path)
    value = ServiceTree(tree, today=TODAY, env=os.environ, cache=second).hcl("terraform/main.tf")
    assert value == {"variable": [{"a": {"default": 1}}]}
    assert (second.stats["hits"], second.stats["refused"]) == (0, 1)


def test_a_damaged_key_is_replaced_and_its_entries_missed(tmp_path: Path) -> None:
    cache = cache_in(tmp_path)
    name = cache.name("hcl2", ("python-hcl2", "lark"), "", "a = 1\n")
    assert name is not None
    assert cache.put(name, {"value": {"a": 1}})
    cache.key_file.write_bytes(b"short")
    again = cache_in(tmp_path)
    assert again.get(name) is None
    assert len(again.key_file.read_bytes()) == 32
    assert again.put(name, {"value": {"a": 1}})
    assert cache_in(tmp_path).get(name) == {"value": {"a": 1}}


def test_the_key_and_entries_are_private_and_written_whole(tmp_path: Path) -> None:
    cache = cache_in(tmp_path)
    name = cache.name("hcl2", ("python-hcl2", "lark"), "", "a = 1\n")
    assert name is not None
    assert cache.put(name, {"value": {"a": 1}})
    assert cache.key_file.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in cache.folder.iterdir()] == [f"{name}.entry"]  # no temporary left
    assert (cache.folder / f"{name}.entry").stat().st_mode & 0o777 == 0o600


def test_the_name_depends_on_the_text_the_parser_and_the_options(tmp_path: Path) -> None:
    cache = cache_in(tmp_path)
    libraries = ("python-hcl2", "lark")
    names = {
        cache.name("hcl2", libraries, "o", "a = 1\n"),
        cache.name("hcl2", libraries, "o", "a = 2\n"),
        cache.name("hcl2", libraries, "p", "a = 1\n"),
        cache.name("other", libraries, "o", "a = 1\n"),
        cache.name("hcl2", ("python-hcl2",), "o", "a = 1\n"),
    }
    assert len(names) == 5
    assert cache.name("hcl2", ("no-such-distribution",), "o", "a = 1\n") is None


def test_the_folder_is_pruned_least_recently_used_first(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path / "parsed", tmp_path / "cache.key", max_entries=8)
    names = []
    for number in range(12):
        name = cache.name("hcl2", ("python-hcl2",), "", f"a = {number}\n")
        assert name is not None
        assert cache.put(name, {"value": {"a": number}})
        os.utime(cache.folder / f"{name}.entry", (1000 + number, 1000 + number))
        names.append(name)
    left = {p.name.removesuffix(".entry") for p in entries(cache)}
    assert len(left) <= 8
    assert names[-1] in left
    assert names[0] not in left
    big = ParseCache(tmp_path / "big", tmp_path / "cache.key", max_bytes=4096)
    for number in range(40):
        name = big.name("hcl2", ("python-hcl2",), "", f"b = {number}\n")
        assert name is not None
        big.put(name, {"value": {"b": "x" * 200}})
    assert sum(p.stat().st_size for p in entries(big)) <= 4096


def test_a_value_that_would_not_read_back_exactly_is_not_kept(tmp_path: Path) -> None:
    assert same_value({"a": [1, "x", None, True, 1.5]}, {"a": [1, "x", None, True, 1.5]})
    assert not same_value({"a": 1}, {"a": 1.0})
    assert not same_value({"a": 1}, {"a": True})
    assert not same_value({"a": 1, "b": 2}, {"b": 2, "a": 1})
    assert not same_value([(1, 2)], [[1, 2]])
    tree = tmp_path / "svc"
    tree.mkdir()
    cache = cache_in(tmp_path)
    st = ServiceTree(tree, today=TODAY, env=os.environ, cache=cache)
    assert st.parse_hcl("a = 1\n") == ({"a": 1}, None)
    assert cache.stats["written"] == 1


@pytest.mark.parametrize(
    "env",
    [
        {"HOME": "/home/u"},
        {"HOME": "/home/u", "PAVED_HOME": "/srv/paved"},
        {"HOME": "/home/u", "XDG_CACHE_HOME": "/var/cache", "XDG_DATA_HOME": "/var/data"},
        {"HOME": "/home/u", "XDG_CACHE_HOME": "relative", "XDG_DATA_HOME": ""},
        {"PAVED_HOME": "~/p"},
    ],
)
def test_the_cache_is_where_paved_keeps_its_cache(env: dict[str, str]) -> None:
    cache = ParseCache.from_env(env)
    assert cache is not None
    paths = Paths.from_env(env, Path(env.get("HOME", "/")))
    assert cache.folder == paths.cache_dir / "guardrails" / "parsed"
    assert cache.key_file == paths.data_dir / "cache.key"


def test_no_home_means_no_cache() -> None:
    assert ParseCache.from_env({}) is None
    assert ParseCache.from_env({"HOME": "relative"}) is None


def test_check_uses_the_cache_of_its_environment(tmp_path: Path) -> None:
    tree = tmp_path / "svc"
    (tree / "terraform").mkdir(parents=True)
    (tree / "terraform" / "main.tf").write_text('variable "a" {\n  default = 1\n}\n')
    env = {**os.environ, "PAVED_HOME": str(tmp_path / "home")}
    check(tree, today=TODAY, env=env, rules=BUILTIN_RULES)
    assert list((tmp_path / "home" / "cache" / "guardrails" / "parsed").glob("*.entry"))
    check(tree, today=TODAY, env={**env, "PAVED_HOME": str(tmp_path / "off")}, cache=False)
    assert not (tmp_path / "off").exists()


def test_a_read_only_cache_reads_and_writes_nothing(tmp_path: Path) -> None:
    tree = tmp_path / "svc"
    (tree / "terraform").mkdir(parents=True)
    (tree / "terraform" / "main.tf").write_text('variable "a" {\n  default = 1\n}\n')
    looking = ParseCache(tmp_path / "parsed", tmp_path / "cache.key", read_only=True)
    ServiceTree(tree, today=TODAY, env=os.environ, cache=looking).hcl("terraform/main.tf")
    assert not (tmp_path / "parsed").exists()
    assert not (tmp_path / "cache.key").exists()  # no key made either
    writing = ParseCache(tmp_path / "parsed", tmp_path / "cache.key")
    ServiceTree(tree, today=TODAY, env=os.environ, cache=writing).hcl("terraform/main.tf")
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "parsed").iterdir()}
    for p in before:
        os.utime(p, (1000, 1000))
    looking = ParseCache(tmp_path / "parsed", tmp_path / "cache.key", read_only=True)
    ServiceTree(tree, today=TODAY, env=os.environ, cache=looking).hcl("terraform/main.tf")
    assert looking.stats["hits"] == 1
    assert {p.stat().st_mtime for p in before} == {1000}  # not even touched
