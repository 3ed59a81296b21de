"""Check every sample's plain files: yamllint, terraform fmt, renovate.json, catalog-info.yaml.

    python tests/validators/check_files.py SAMPLES_DIR

- yamllint --strict over the whole sample with the service's own committed ``.yamllint.yml``;
- ``terraform fmt -check`` over ``terraform/`` when the sample has one;
- ``renovate.json`` against check-jsonschema's vendored Renovate schema;
- ``catalog-info.yaml`` against Backstage's entity rules (the rules of ``@backstage/catalog-model``:
  entity envelope, metadata name, annotation keys, tags, links, the Component, API and Resource
  specs), and every API, Resource and API definition file the entities point at is there.

Exits 1 on any finding, on a missing tool, or when an expected file is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import yaml
from _common import run, samples_in

NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
TAG = re.compile(r"^[a-z0-9:+#]+(\-[a-z0-9:+#]+)*$")
TOOLS = ("yamllint", "terraform", "check-jsonschema")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
#: An entity reference, [kind:][namespace/]name.
REF = re.compile(
    r"^([A-Za-z]+:)?([a-z0-9]([-a-z0-9]*[a-z0-9])?/)?([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$"
)
#: The kinds a catalog-info.yaml may hold, and the spec fields each requires.
KINDS = {
    "Component": ("type", "lifecycle", "owner"),
    "API": ("type", "lifecycle", "owner"),
    "Resource": ("type", "owner"),
}


def key_problem(key: object) -> str | None:
    """Why ``key`` is not a valid Backstage annotation/label key ([prefix/]name), or None."""
    if not isinstance(key, str):
        return "is not a string"
    prefix, _, name = key.rpartition("/")
    if not (NAME.match(name) and len(name) <= 63):
        return f"name part {name!r} does not match {NAME.pattern} or is over 63 characters"
    if "/" in key:
        labels = prefix.split(".")
        if len(prefix) > 253 or not all(DNS_LABEL.match(x) and len(x) <= 63 for x in labels):
            return f"prefix {prefix!r} is not a DNS subdomain"
    return None


def catalog_problems(doc: object) -> list[str]:
    """Everything Backstage would refuse in one catalog-info.yaml document."""
    if not isinstance(doc, dict):
        return ["the document is not a mapping"]
    problems = []
    if doc.get("apiVersion") != "backstage.io/v1alpha1":
        problems.append(f"apiVersion is {doc.get('apiVersion')!r}, not 'backstage.io/v1alpha1'")
    kind = doc.get("kind")
    if kind not in KINDS:
        problems.append(f"kind is {kind!r}, not one of {', '.join(KINDS)}")
    meta = doc.get("metadata")
    if not isinstance(meta, dict):
        return [*problems, "metadata is missing or not a mapping"]
    name = meta.get("name")
    if not (isinstance(name, str) and NAME.match(name) and len(name) <= 63):
        problems.append(f"metadata.name {name!r} is not a valid entity name")
    if "description" in meta and not isinstance(meta["description"], str):
        problems.append("metadata.description is not a string")
    for field in ("annotations", "labels"):
        values = meta.get(field, {})
        if not isinstance(values, dict):
            problems.append(f"metadata.{field} is not a mapping")
            continue
        for key, value in values.items():
            why = key_problem(key)
            if why:
                problems.append(f"metadata.{field} key {key!r} {why}")
            if not isinstance(value, str):
                problems.append(f"metadata.{field}[{key!r}] value {value!r} is not a string")
    tags = meta.get("tags", [])
    if not isinstance(tags, list):
        problems.append("metadata.tags is not a list")
        tags = []
    for tag in tags:
        if not (isinstance(tag, str) and TAG.match(tag) and len(tag) <= 63):
            problems.append(f"metadata.tags entry {tag!r} is not a valid tag")
    links = meta.get("links", [])
    for link in links if isinstance(links, list) else [None]:
        if not isinstance(link, dict) or not isinstance(link.get("url"), str):
            problems.append(f"metadata.links entry {link!r} has no url")
            continue
        url = urlparse(link["url"])
        if url.scheme not in {"http", "https"} or not url.netloc:
            problems.append(f"metadata.links url {link['url']!r} is not an http(s) URL")
        for field in ("title", "icon", "type"):
            if field in link and not isinstance(link[field], str):
                problems.append(f"metadata.links {field} {link[field]!r} is not a string")
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        return [*problems, "spec is missing or not a mapping"]
    for field in KINDS.get(kind, ("type", "owner")):
        if not (isinstance(spec.get(field), str) and spec[field]):
            problems.append(f"spec.{field} is missing or not a non-empty string")
    for field in ("system", "subcomponentOf"):
        if field in spec and not isinstance(spec[field], str):
            problems.append(f"spec.{field} is not a string")
    for field in ("providesApis", "consumesApis", "dependsOn"):
        refs = spec.get(field, [])
        if not (isinstance(refs, list) and all(isinstance(r, str) and REF.match(r) for r in refs)):
            problems.append(f"spec.{field} is not a list of entity references")
    if kind == "API":
        definition = spec.get("definition")
        text = definition.get("$text") if isinstance(definition, dict) else definition
        if not (isinstance(text, str) and text):
            problems.append("spec.definition is missing (a string or {$text: PATH})")
    return problems


def catalog_references(docs: list[object], sample: Path) -> list[str]:
    """What the entities of one file point at that is not there: an API or Resource the
    Component names but the file does not define, an API definition file that is missing."""
    problems = []
    defined = {
        (str(d.get("kind")).lower(), str((d.get("metadata") or {}).get("name")))
        for d in docs
        if isinstance(d, dict) and isinstance(d.get("metadata"), dict)
    }
    for doc in docs:
        if not isinstance(doc, dict) or not isinstance(doc.get("spec"), dict):
            continue
        spec = doc["spec"]
        for field, default_kind in (("providesApis", "api"), ("dependsOn", None)):
            for ref in spec.get(field, []) if isinstance(spec.get(field), list) else []:
                kind, _, name = str(ref).rpartition(":")
                kind = (kind or default_kind or "component").lower()
                if (kind, name.rpartition("/")[2]) not in defined:
                    problems.append(f"spec.{field} entry {ref!r} is not defined in the file")
        definition = spec.get("definition")
        if isinstance(definition, dict) and isinstance(definition.get("$text"), str):
            target = sample / definition["$text"]
            if not target.is_file():
                problems.append(f"spec.definition $text {definition['$text']!r} is missing")
            else:
                try:
                    json.loads(target.read_text(encoding="utf-8"))
                except ValueError as exc:
                    problems.append(f"spec.definition {definition['$text']!r} is not JSON: {exc}")
    return problems


def check_catalog(sample: Path) -> bool:
    path = sample / "catalog-info.yaml"
    label = f"{sample.name}/catalog-info.yaml: Backstage entity rules"
    if not path.is_file():
        print(f"FAIL  {label}: file missing")
        return False
    docs = list(yaml.safe_load_all(path.read_text()))
    problems = [p for doc in docs for p in catalog_problems(doc)]
    problems += catalog_references(docs, sample)
    for problem in problems:
        print(f"FAIL  {label}: {problem}")
    if not problems:
        print(f"ok    {label}")
    return not problems


def check_sample(sample: Path) -> bool:
    config = sample / ".yamllint.yml"
    if not config.is_file():
        print(f"FAIL  {sample.name}: .yamllint.yml missing")
        ok = False
    else:
        ok = run(
            f"{sample.name}: yamllint --strict",
            ["yamllint", "-s", "-f", "parsable", "-c", str(config), str(sample)],
        )
    if (sample / "terraform").is_dir():
        env = {k: v for k, v in os.environ.items() if k != "TF_CLI_CONFIG_FILE"}
        ok &= run(
            f"{sample.name}/terraform: terraform fmt -check",
            ["terraform", "fmt", "-check", "-diff", "-recursive", str(sample / "terraform")],
            env=env,
        )
    renovate = sample / "renovate.json"
    if renovate.is_file():
        ok &= run(
            f"{sample.name}/renovate.json: check-jsonschema vendor.renovate",
            ["check-jsonschema", "--builtin-schema", "vendor.renovate", str(renovate)],
        )
    else:
        print(f"FAIL  {sample.name}: renovate.json missing")
        ok = False
    return check_catalog(sample) and ok


def main(samples: Path) -> int:
    missing = [tool for tool in TOOLS if not shutil.which(tool)]
    if missing:
        print(f"FAIL  not on PATH: {', '.join(missing)}")
        return 1
    for tool in TOOLS:
        argv = [tool, "version" if tool == "terraform" else "--version"]
        out = subprocess.run(argv, capture_output=True, text=True, check=False).stdout
        print(f"tool  {out.strip().splitlines()[0] if out.strip() else argv[0]}")
    found = samples_in(samples)
    ok = True
    for sample in found:
        ok &= check_sample(sample)
    print("all file checks passed" if ok else "file checks FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
