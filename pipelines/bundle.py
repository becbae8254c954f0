"""The playbook bundle a host the Auto Scaling group launches configures itself from.

    python -m pipelines bundle --stack dev --release <image tag>

Builds a tar.gz of what a host needs to converge itself: ``playbooks/`` (ansible.cfg, the
playbooks and roles, the shared group_vars, and the target's inventory group_vars with the stack's
rendered ``stack.yml``: the AWS inventory, or the lab's for ``--stack lab``, whose hosts fetch it
from the lab's S3), ``lab/roles/`` (named by site's plays, skipped on AWS),
``collections/`` (the Ansible collections the playbooks name, copied from the controller's ``ansible``
package, with their dependencies), ``requirements.txt`` (ansible-core and boto3 at the versions uv.lock
pins: a few MB from PyPI at boot, where the whole ``ansible`` package is some 270 MB of collections
the host never loads) and ``converge`` (pipelines/bundle-converge.sh). It is uploaded to the stack's bundle bucket as
``playbooks/<release>.tar.gz`` and ``playbooks/current.tar.gz``, each with the release in its
metadata; the bucket keeps the versions ``current`` replaced. ``deploy`` publishes it after a
release has rolled out on AWS, so a new host starts the release the others run.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
import tomllib
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOKS = ROOT / "playbooks"
# ansible.cfg's roles_path names them; site.yml's plays for the lab's stand-ins are skipped on AWS,
# but Ansible loads every role a play names.
LAB_ROLES = ROOT / "lab" / "roles"
AWS_INVENTORY = PLAYBOOKS / "inventories" / "aws"
STACK_VARS = AWS_INVENTORY / "group_vars" / "all" / "stack.yml"
CONVERGE = ROOT / "pipelines" / "bundle-converge.sh"
# What the converge installs with pip; pinned from uv.lock.
REQUIREMENTS = ("ansible-core", "boto3", "botocore")
# A module, lookup or filter named by its fully qualified name: namespace.collection.name.
QUALIFIED_NAME = re.compile(r"\b([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*\b")
# ansible-core's own; the rest are collections.
BUILT_IN = {"ansible.builtin", "ansible.legacy"}
# Inside a collection: what Ansible never loads at run time.
COLLECTION_LEFT_OUT = ("tests", "docs", "changelogs", "__pycache__")
# Inventory files only the controller uses (the aws_ec2 plugin, a host's own inventory).
# (The lab's hosts.yml lists the lab's hosts for the controller; a host converging itself is alone.)
LEFT_OUT = ("*.aws_ec2.yml", "self.ini", "hosts.yml", "__pycache__", "molecule", "*.pyc", "role_docs.py")


def locked_versions(names: tuple[str, ...] = REQUIREMENTS) -> dict[str, str]:
    packages = tomllib.loads((ROOT / "uv.lock").read_text())["package"]
    return {package["name"]: package["version"] for package in packages if package["name"] in names}


def installed_collections() -> Path:
    """The controller's collections (the ``ansible`` package uv.lock pins installs them)."""
    import ansible_collections  # type: ignore[import-untyped]  # a namespace package of collections

    return Path(next(iter(ansible_collections.__path__)))


def used_collections(trees: tuple[Path, ...] = (PLAYBOOKS, LAB_ROLES), installed: Path | None = None) -> list[str]:
    """The collections the playbooks and roles name, with the collections those depend on."""
    installed = installed or installed_collections()
    names = {
        f"{namespace}.{collection}"
        for tree in trees
        for path in tree.rglob("*")
        if path.suffix in (".yml", ".yaml", ".j2") and not _left_out(path.relative_to(tree))
        for namespace, collection in QUALIFIED_NAME.findall(path.read_text(errors="replace"))
        if (installed / namespace / collection / "MANIFEST.json").exists()
    } - BUILT_IN
    pending = sorted(names)
    while pending:
        namespace, collection = pending.pop().split(".")
        manifest = json.loads((installed / namespace / collection / "MANIFEST.json").read_text())
        for dependency in manifest["collection_info"]["dependencies"]:
            if dependency not in names:
                names.add(dependency)
                pending.append(dependency)
    return sorted(names)


def _add_collections(archive: tarfile.TarFile, names: list[str], installed: Path) -> None:
    for name in names:
        source = installed.joinpath(*name.split("."))
        for path in sorted(source.rglob("*")):
            relative = path.relative_to(source)
            if path.is_file() and not (set(relative.parts) & set(COLLECTION_LEFT_OUT)) and path.suffix != ".pyc":
                member = Path("collections", "ansible_collections", *name.split("."), relative)
                _add_file(archive, str(member), path)


def _left_out(path: Path) -> bool:
    return any(path.match(pattern) or pattern in path.parts for pattern in LEFT_OUT)


def _add(archive: tarfile.TarFile, name: str, content: bytes, mode: int = 0o644) -> None:
    member = tarfile.TarInfo(name)
    member.size, member.mode, member.mtime = len(content), mode, 0
    archive.addfile(member, io.BytesIO(content))


def _add_file(archive: tarfile.TarFile, name: str, path: Path) -> None:
    """A file of this tree, executable in the bundle if it is here."""
    _add(archive, name, path.read_bytes(), 0o755 if path.stat().st_mode & 0o100 else 0o644)


def build_bundle(stack_vars: Path = STACK_VARS, inventory: Path = AWS_INVENTORY) -> bytes:
    """The bundle for the stack whose endpoints ``stack_vars`` holds (render_aws_inventory writes them),
    with ``inventory``'s group_vars and no other inventory's."""
    if not stack_vars.exists():
        raise FileNotFoundError(f"{stack_vars} is missing: run pipelines/render_aws_inventory.py --stack <stack>")
    bundled_stack_vars = inventory / "group_vars" / "all" / "stack.yml"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        _add(archive, str(bundled_stack_vars.relative_to(ROOT)), stack_vars.read_bytes())
        files = sorted(p for tree in (PLAYBOOKS, LAB_ROLES) for p in tree.rglob("*") if p.is_file())
        for path in files:
            relative = path.relative_to(ROOT)
            other_inventory = relative.parts[:2] == ("playbooks", "inventories") and inventory not in path.parents
            if other_inventory or _left_out(relative) or path == bundled_stack_vars:
                continue
            _add_file(archive, str(relative), path)
        installed = installed_collections()
        _add_collections(archive, used_collections(installed=installed), installed)
        requirements = "".join(f"{name}=={version}\n" for name, version in sorted(locked_versions().items()))
        _add(archive, "requirements.txt", requirements.encode())
        _add(archive, "converge", CONVERGE.read_bytes(), 0o755)
    return buffer.getvalue()


def publish(s3: Any, bucket: str, release: str, bundle: bytes) -> None:
    for key in (f"playbooks/{release}.tar.gz", "playbooks/current.tar.gz"):
        s3.put_object(Bucket=bucket, Key=key, Body=bundle, Metadata={"release": release}, ServerSideEncryption="AES256")


def bundle(stack: str, release: str) -> str:
    """Publish the bundle of ``stack`` (an AWS stack, or ``lab``: the lab's S3, lab/aws.py)."""
    import boto3

    from pipelines.targets import resolve

    target = resolve(stack)  # renders an AWS stack's inventory, stack.yml included
    stack_vars = target.inventory / "group_vars" / "all" / "stack.yml"
    body = build_bundle(stack_vars, target.inventory)
    settings = yaml.safe_load(stack_vars.read_text())
    bucket = settings["shop_bundle_bucket"]
    # The lab's S3 takes the lab's made-up key (its target's environment); AWS, the usual chain.
    session = boto3.session.Session(
        region_name=settings["shop_region"],
        aws_access_key_id=target.env.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=target.env.get("AWS_SECRET_ACCESS_KEY"),
    )
    publish(session.client("s3", endpoint_url=settings.get("shop_aws_endpoint_url")), bucket, release, body)
    return f"bundle of {release} ({len(body) // 1024} KiB) in s3://{bucket}/playbooks/current.tar.gz"
