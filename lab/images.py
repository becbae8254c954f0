"""The lab's images: a debootstrap Debian base, the host image and the registry image built on it.

Each image is tagged with a hash of its recipe, so a rebuild happens only when the recipe changes
and a machine that already built it (a developer's laptop, a warm CI runner) reuses it.
"""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from pathlib import Path

import docker
from docker.errors import BuildError, ImageNotFound

from lab.engine import require_tool
from lab.progress import note, step

IMAGES_DIR = Path(__file__).parent / "images"
# The Debian release of the AWS hosts (Debian 12's AMIs) and of the app image.
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates")
SOURCES = f"""\
Types: deb
URIs: {MIRROR}
Suites: {SUITE} {SUITE}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: {SUITE}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""
BASE_REPOSITORY = "shopstack/debian"
LABEL = "org.shopstack.lab"


def _digest(*parts: str | bytes) -> str:
    sha = hashlib.sha256()
    for part in parts:
        sha.update(part.encode() if isinstance(part, str) else part)
    return sha.hexdigest()[:12]


def _exists(engine: docker.DockerClient, ref: str) -> bool:
    try:
        engine.images.get(ref)
    except ImageNotFound:
        return False
    return True


def base_image(engine: docker.DockerClient) -> str:
    """Debian minbase with python3, from debootstrap and ``docker import`` (no public registry)."""
    ref = f"{BASE_REPOSITORY}:{SUITE}-{_digest(SUITE, MIRROR, ','.join(BASE_PACKAGES), SOURCES)}"
    if _exists(engine, ref):
        note(f"base image {ref} is cached")
        return ref
    debootstrap = require_tool("debootstrap")
    with step(f"Building the base image {ref} with debootstrap"), tempfile.TemporaryDirectory(
        prefix="shopstack-rootfs-"
    ) as rootfs:
        subprocess.run(
            [
                debootstrap,
                "--variant=minbase",
                f"--include={','.join(BASE_PACKAGES)}",
                SUITE,
                rootfs,
                MIRROR,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        root = Path(rootfs)
        (root / "etc/apt/sources.list").unlink(missing_ok=True)
        (root / "etc/apt/sources.list.d/debian.sources").write_text(SOURCES)
        subprocess.run(["rm", "-rf", f"{rootfs}/var/lib/apt/lists", f"{rootfs}/var/cache/apt"],
                       check=True)
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        assert tar.stdout is not None
        engine.api.import_image_from_data(
            tar.stdout.read(), repository=ref.split(":")[0], tag=ref.split(":")[1],
            changes=['CMD ["/bin/bash"]', "ENV LANG=C.UTF-8"],
        )
        if tar.wait() != 0:
            raise SystemExit("tar of the debootstrap root failed")
    return ref


def built_image(engine: docker.DockerClient, name: str, base: str) -> str:
    """Build ``lab/images/<name>/Dockerfile`` on ``base``; the tag hashes the recipe and base."""
    context = IMAGES_DIR / name
    recipe = b"".join(p.read_bytes() for p in sorted(context.rglob("*")) if p.is_file())
    ref = f"shopstack/lab-{name}:{_digest(recipe, base)}"
    if _exists(engine, ref):
        note(f"{name} image {ref} is cached")
        engine.images.get(ref).tag(f"shopstack/lab-{name}", "latest")
        return ref
    with step(f"Building the {name} image {ref}"):
        try:
            engine.images.build(
                path=str(context), tag=ref, buildargs={"BASE_IMAGE": base}, rm=True,
                labels={LABEL: "image"},
            )
        except BuildError as error:
            for line in error.build_log:
                if "stream" in line:
                    note(line["stream"].rstrip())
            raise
    # The molecule scenarios of the roles start from the newest host image.
    engine.images.get(ref).tag(f"shopstack/lab-{name}", "latest")
    return ref
