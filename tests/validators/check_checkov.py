"""checkov finds nothing in any sample service.

    python tests/validators/check_checkov.py SAMPLES

Two checkov runs per sample (each takes 7-10 s to start): the sample itself for the Dockerfile,
CI, Terraform and secrets, then each Kubernetes overlay as ``kubectl kustomize`` renders it
(checkov does not apply kustomize patches, so the raw ``k8s/`` folder is skipped). Offline:
``--skip-download`` and no update check. Every failed check and parsing error is a problem,
whichever file it is in; skips written in the scaffold files with a reason are allowed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import check_all, tool

FRAMEWORKS = ["kubernetes", "dockerfile", "github_actions", "gitlab_ci", "terraform", "secrets"]


def render_overlays(sample: Path, into: Path) -> list[str]:
    overlays = sorted((sample / "k8s" / "overlays").glob("*/"))
    if not overlays:
        return [f"{sample}/k8s/overlays: no overlay"]
    problems = []
    for overlay in overlays:
        built = subprocess.run(
            [tool("kubectl"), "kustomize", str(overlay)],
            capture_output=True,
            text=True,
            env={**os.environ, "KUBECONFIG": os.devnull},
        )
        if built.returncode != 0:
            problems.append(f"{overlay}: kubectl kustomize failed: {built.stderr.strip()}")
        (into / f"{overlay.name}.yaml").write_text(built.stdout)
    return problems


def reports(output: str) -> list[dict]:
    """checkov -o json prints one JSON document per -d folder: a report or a list of them."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(output):
        if output[at].isspace():
            at += 1
            continue
        document, at = decoder.raw_decode(output, at)
        found += document if isinstance(document, list) else [document]
    return found


def describe(check: dict, sample: Path, rendered: str) -> str:
    path = check.get("file_abs_path") or check["file_path"]
    if path.startswith(rendered):
        where = f"{sample}/k8s/overlays/{Path(path).stem} (rendered)"
    else:
        where = str(sample / path.removeprefix(str(sample.resolve())).lstrip("/"))
    lines = "-".join(str(n) for n in check.get("file_line_range") or [])
    return f"{where}:{lines}: {check['check_id']} {check['resource']}: {check['check_name']}"


def run_checkov(target: Path, frameworks: list[str], *extra: str) -> tuple[list[dict], str]:
    """One checkov run over ``target``: its reports, or an error message."""
    done = subprocess.run(
        [tool("checkov"), "-d", str(target), "--framework", *frameworks, *extra,
         "--skip-download", "--quiet", "--compact", "-o", "json"],
        capture_output=True,
        text=True,
        env={**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"},
    )  # fmt: skip
    try:
        found = reports(done.stdout)
    except json.JSONDecodeError:
        return [], f"checkov exited {done.returncode}: {done.stderr.strip()[-2000:]}"
    if done.returncode not in (0, 1):
        return found, f"checkov exited {done.returncode}: {done.stderr.strip()[-2000:]}"
    return found, ""


def check_sample(sample: Path) -> list[str]:
    ci = "github_actions" if (sample / ".github").is_dir() else "gitlab_ci"
    # Not under $TMPDIR: nox puts it below .nox/, and checkov skips hidden folders silently.
    with tempfile.TemporaryDirectory(
        prefix="checkov-rendered-", dir=sample.parent.parent
    ) as rendered:
        problems = render_overlays(sample, Path(rendered))
        # Two runs: checkov reports nothing for a second -d folder of Kubernetes files.
        runs = [
            run_checkov(
                sample, [f for f in FRAMEWORKS if f != "kubernetes"], "--skip-path", "k8s/"
            ),
            run_checkov(Path(rendered), ["kubernetes"]),
        ]
        found = [report for reports_, _ in runs for report in reports_]
        problems += [f"{sample}: {error}" for _, error in runs if error]
        checked = {r.get("check_type"): r.get("summary", {}).get("passed", 0) for r in found}
        for framework in ("kubernetes", "dockerfile", "terraform", ci):
            # checkov says nothing, rather than fail, about a file its parser skipped
            if not checked.get(framework):
                problems.append(f"{sample}: checkov checked nothing for {framework}")
        for report in found:
            if errors := report.get("summary", {}).get("parsing_errors", 0):
                problems.append(f"{sample}: {report.get('check_type')}: {errors} parsing error(s)")
            for check in report.get("results", {}).get("failed_checks", []):
                line = describe(check, sample, rendered)
                if line not in problems:
                    problems.append(line)
    return problems


def main(samples: Path) -> int:
    return check_all("checkov", samples, check_sample)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
