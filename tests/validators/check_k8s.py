"""Every sample's Kubernetes overlays build with kustomize and pass kubernetes-validate --strict.

    python tests/validators/check_k8s.py SAMPLES

For each sample service and each of its environments: ``kubectl kustomize k8s/overlays/ENV``,
then ``kubernetes-validate --strict -k 1.31 -`` on the result. Fails on any error, on a missing
overlay, on an overlay for an environment the service does not have, and when a public service
has no Ingress (or an internal one has one).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml
from _common import check_all, tool

KUBERNETES_VERSION = "1.31"
ANSWERS = ".copier-answers.road.yml"


def check_overlay(overlay: Path, public: bool) -> list[str]:
    env = {**os.environ, "KUBECONFIG": os.devnull}
    built = subprocess.run(
        [tool("kubectl"), "kustomize", str(overlay)], capture_output=True, text=True, env=env
    )
    if built.returncode != 0:
        return [f"{overlay}: kubectl kustomize failed: {built.stderr.strip()}"]
    validated = subprocess.run(
        [tool("kubernetes-validate"), "--strict", "-k", KUBERNETES_VERSION, "-"],
        input=built.stdout,
        capture_output=True,
        text=True,
    )
    output = (validated.stdout + validated.stderr).splitlines()
    problems = [f"{overlay}: {line}" for line in output if line and not line.startswith("INFO")]
    if validated.returncode != 0 and not problems:
        problems.append(f"{overlay}: kubernetes-validate exited {validated.returncode}")
    kinds = {doc["kind"] for doc in yaml.safe_load_all(built.stdout) if doc}
    if ("Ingress" in kinds) != public:
        exposure = "public" if public else "internal"
        problems.append(f"{overlay}: Ingress {'missing' if public else 'present'} ({exposure})")
    return problems


def check_sample(sample: Path) -> list[str]:
    answers = yaml.safe_load((sample / ANSWERS).read_text())
    overlays = sample / "k8s" / "overlays"
    found = {path.name for path in overlays.iterdir()} if overlays.is_dir() else set()
    problems = [f"{overlays / env}: missing" for env in answers["environments"] if env not in found]
    problems += [
        f"{overlays / env}: not one of {answers['environments']}"
        for env in found - set(answers["environments"])
    ]
    for env in sorted(found & set(answers["environments"])):
        problems += check_overlay(overlays / env, answers["exposure"] == "public")
        print(f"checked {overlays / env}", file=sys.stderr)
    return problems


def main(samples: Path) -> int:
    return check_all("kubernetes", samples, check_sample)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
