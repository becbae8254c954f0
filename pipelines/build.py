"""The build step: the shop's image tagged with the commit, its SBOM beside it, pushed once.

    python -m pipelines build [--push lab|<stack>|<repository>]

The image comes from the multi-stage Dockerfile through ``build_image.py`` (the docker SDK). An
unchanged tree rebuilds from the layer cache into the same image, and a tag the registry already
holds is not pushed again (ECR tags are immutable). The SBOM is CycloneDX JSON of exactly the
locked runtime dependencies the image installs (``uv export``, as the Dockerfile does), written to
``build/images/<release>/`` with a record of the image.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from pipelines import build_image
from pipelines.runner import ROOT, StepFailed, say, shown

IMAGES = ROOT / "build" / "images"
BIN = Path(sys.executable).parent


def _uv() -> str:
    found = os.environ.get("UV") or shutil.which("uv") or str(ROOT / ".venv-tools" / "bin" / "uv")
    if not Path(found).exists() and not shutil.which(found):
        raise StepFailed("uv is not installed (make install)")
    return found


def sbom(release: str) -> Path:
    """CycloneDX SBOM of the locked runtime dependencies, the image's Python content."""
    directory = IMAGES / release
    directory.mkdir(parents=True, exist_ok=True)
    requirements = directory / "requirements.txt"
    subprocess.run([_uv(), "export", "--frozen", "--no-default-groups", "--no-emit-project", "--quiet",
                    "-o", str(requirements)], cwd=ROOT, check=True)
    path = directory / "sbom.cdx.json"
    subprocess.run([str(BIN / "cyclonedx-py"), "requirements", "--pyproject", str(ROOT / "pyproject.toml"),
                    "--of", "JSON", "--output-reproducible", "-o", str(path), str(requirements)],
                   cwd=ROOT, check=True, capture_output=True)
    return path


def registry(target: str) -> tuple[str, dict[str, str] | None]:
    """The repository to push to for ``target`` and the credentials to push with."""
    if target == "lab":
        from lab import topology
        from lab.secrets import lab_secrets

        if not (topology.STATE / "vault-password").exists():
            raise StepFailed("the lab is not up: make lab-up")
        return topology.push_repository(), {"username": topology.REGISTRY_USER,
                                            "password": str(lab_secrets()["vault_shop_registry_password"])}
    if target in ("dev", "staging", "prod"):
        repository = subprocess.run(["pulumi", "stack", "output", "registry_url", "--stack", target], cwd=ROOT,
                                    capture_output=True, text=True, check=True).stdout.strip()
        return repository, _ecr_login(repository)
    if os.environ.get("REGISTRY_PASSWORD"):
        return target, {"username": os.environ["REGISTRY_USERNAME"], "password": os.environ["REGISTRY_PASSWORD"]}
    return target, None


def _ecr_login(repository: str) -> dict[str, str]:
    import boto3

    region = repository.split(".")[3]
    token = boto3.client("ecr", region_name=region).get_authorization_token()["authorizationData"][0]
    username, password = base64.b64decode(token["authorizationToken"]).decode().split(":", 1)
    return {"username": username, "password": password}


def _in_registry(engine: Any, reference: str, auth: dict[str, str] | None) -> bool:
    import docker.errors

    try:
        engine.api.inspect_distribution(reference, auth_config=auth)
    except docker.errors.APIError:
        return False
    return True


def _image_id(engine: Any, ref: str) -> str | None:
    import docker.errors

    try:
        return str(engine.images.get(ref).id)
    except docker.errors.ImageNotFound:
        return None


def build(push: str | None = None) -> str:
    from lab import engine as lab_engine
    from lab import images as lab_images

    engine = lab_engine.client()
    release = build_image.default_release()
    ref = f"{build_image.LOCAL_REPOSITORY}:{release}"
    before = _image_id(engine, ref)
    build_image.build(engine, release, lab_images.base_image(engine))
    image = engine.images.get(ref)
    reused = before == image.id
    sbom_path = sbom(release)
    record: dict[str, Any] = {"release": release, "image": ref, "id": image.id, "labels": image.labels,
                              "sbom": shown(sbom_path), "pushed": None}
    outcome = "unchanged: the cache gave the same image" if reused else "new image"
    if push:
        repository, auth = registry(push)
        target = f"{repository}:{release}"
        if _in_registry(engine, target, auth) and not release.endswith("-dirty"):
            outcome += f"; {target} already in the registry, not pushed again"
        else:
            os.environ.update({"REGISTRY_USERNAME": auth["username"], "REGISTRY_PASSWORD": auth["password"]}
                              if auth else {})
            build_image.push(engine, ref, repository, release)
            outcome += f"; pushed {target}"
        record["pushed"] = target
    (IMAGES / release / "image.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    say(f"    image {ref} ({image.id[7:19]}), labels {image.labels}")
    return f"{ref}: {outcome}; SBOM {shown(sbom_path)}"
