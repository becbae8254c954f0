"""Build the shop's image from the repository and push it.

    python pipelines/build_image.py --release <id> [--push <repository>] [--base-image <ref>]

The release id defaults to the commit (with ``-dirty`` when the tree has changes). The base image
is the debootstrap Debian image the lab builds (``lab/images.py``), made here when missing. The
building machine's CA bundle goes into the build stage only, never into the image.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
import time
import tomllib
from pathlib import Path

import docker
from docker.utils import build as build_utils

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab import engine as lab_engine  # noqa: E402
from lab import images as lab_images  # noqa: E402

CA_BUNDLE = Path(os.environ.get("BUILD_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt"))
LOCAL_REPOSITORY = "shopstack/shop"


def default_release() -> str:
    sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "app", "pyproject.toml",
                            "uv.lock", "Dockerfile"], cwd=ROOT, check=True, capture_output=True,
                           text=True).stdout.strip()
    return f"{sha}-dirty" if dirty else sha


def context() -> io.BytesIO:
    """The build context: what .dockerignore lets through, plus the CA bundle."""
    excludes = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    archive = build_utils.tar(str(ROOT), exclude=excludes, dockerfile=("Dockerfile", None))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="r") as source, tarfile.open(fileobj=buffer,
                                                                          mode="w") as target:
        for member in source.getmembers():
            target.addfile(member, source.extractfile(member) if member.isfile() else None)
        target.add(CA_BUNDLE, arcname="build-ca/ca-certificates.crt")
    buffer.seek(0)
    return buffer


def git_sha() -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, check=True, capture_output=True,
                          text=True).stdout.strip()


def project_version() -> str:
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


def build(engine: docker.DockerClient, release: str, base_image: str) -> str:
    """Build the image tagged ``release``; layers already built for the same inputs are reused."""
    ref = f"{LOCAL_REPOSITORY}:{release}"
    started = time.monotonic()
    print(f"==> Building {ref} on {base_image}", flush=True)
    buildargs = {"BASE_IMAGE": base_image, "SHOP_RELEASE": release, "SHOP_VERSION": project_version(),
                 "GIT_SHA": git_sha()}
    stream = engine.api.build(fileobj=context(), custom_context=True, tag=ref, rm=True,
                              forcerm=True, decode=True, pull=False, buildargs=buildargs)
    for chunk in stream:
        if "error" in chunk:
            raise SystemExit(f"build failed: {chunk['error']}")
        line = chunk.get("stream", "").rstrip()
        if line.startswith("Step ") or line.startswith("Successfully"):
            print(f"    {line}", flush=True)
    print(f"    built in {time.monotonic() - started:.1f} s", flush=True)
    return ref


def push(engine: docker.DockerClient, ref: str, repository: str, release: str) -> str:
    target = f"{repository}:{release}"
    engine.images.get(ref).tag(repository, release)
    auth = None
    if os.environ.get("REGISTRY_PASSWORD"):
        auth = {"username": os.environ["REGISTRY_USERNAME"],
                "password": os.environ["REGISTRY_PASSWORD"]}
    print(f"==> Pushing {target}", flush=True)
    for chunk in engine.images.push(repository, tag=release, stream=True, decode=True,
                                    auth_config=auth):
        if "error" in chunk:
            raise SystemExit(f"push failed: {chunk['error']}")
    return target


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--release", default=None, help="image tag and SHOP_RELEASE")
    parser.add_argument("--base-image", default=None, help="debootstrap Debian image with python3")
    parser.add_argument("--push", metavar="REPOSITORY", default=None,
                        help="push to this repository (credentials: REGISTRY_USERNAME, "
                             "REGISTRY_PASSWORD)")
    args = parser.parse_args(argv)
    engine = lab_engine.client()
    release = args.release or default_release()
    base_image = args.base_image or lab_images.base_image(engine)
    ref = build(engine, release, base_image)
    if args.push:
        ref = push(engine, ref, args.push, release)
    print(ref)
    return ref


if __name__ == "__main__":
    main()
