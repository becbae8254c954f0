"""The lab's Docker resources: its network, the registry and the host containers.

Everything is labelled ``org.shopstack.lab``; ``down`` removes exactly what carries that label.
"""

from __future__ import annotations

import io
import socket
import subprocess
import tarfile
import time

import bcrypt
import docker
from docker.errors import NotFound
from docker.types import IPAMConfig, IPAMPool

from lab import topology as topo
from lab.images import LABEL
from lab.progress import note, step
from lab.secrets import SSH_KEY

ADMIN_UID = 1000  # the first user the host image creates
OWNER = f"{LABEL}.owner"  # the fingerprint of the checkout whose credentials the lab holds


def replace_foreign(engine: docker.DockerClient, owner: str) -> None:
    """Remove a lab made by another checkout: its hosts and registry hold other credentials."""
    containers = engine.containers.list(all=True, filters={"label": LABEL})
    foreign = [c.name for c in containers if c.labels.get(OWNER) != owner]
    if foreign:
        note(f"{', '.join(sorted(foreign))} hold another checkout's credentials; replacing the lab")
        remove_all(engine)


def network(engine: docker.DockerClient) -> None:
    try:
        engine.networks.get(topo.NETWORK)
        return
    except NotFound:
        pass
    pool = IPAMPool(subnet=str(topo.SUBNET), gateway=str(topo.GATEWAY))
    engine.networks.create(
        topo.NETWORK, driver="bridge", ipam=IPAMConfig(pool_configs=[pool]),
        labels={LABEL: "network"},
    )


def _running(engine: docker.DockerClient, name: str) -> bool:
    try:
        container = engine.containers.get(name)
    except NotFound:
        return False
    if container.status == "running":
        return True
    container.remove(force=True, v=True)
    return False


def _create(engine: docker.DockerClient, name: str, image: str, ip: str, **host_config) -> str:
    api = engine.api
    labels = host_config.pop("labels")
    container_keys = ("hostname", "environment", "command", "volumes")
    extra = {k: host_config.pop(k) for k in container_keys if k in host_config}
    created = api.create_container(
        image,
        name=name,
        labels=labels,
        host_config=api.create_host_config(**host_config),
        networking_config=api.create_networking_config(
            {topo.NETWORK: api.create_endpoint_config(ipv4_address=ip)}
        ),
        **extra,
    )
    return created["Id"]


def registry(engine: docker.DockerClient, image: str, password: str, owner: str) -> None:
    name = f"{topo.PREFIX}-registry"
    if _running(engine, name):
        return
    volume = engine.volumes.create(f"{topo.PREFIX}-registry-data", labels={LABEL: "registry"})
    container_id = _create(
        engine, name, image, str(topo.REGISTRY_IP),
        labels={LABEL: "registry", OWNER: owner},
        port_bindings={topo.REGISTRY_PORT: ("127.0.0.1", topo.REGISTRY_PUSH_PORT)},
        binds={volume.name: {"bind": "/var/lib/docker-registry", "mode": "rw"}},
        restart_policy={"Name": "unless-stopped"},
    )
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()
    _put_file(engine, container_id, "/etc/docker/registry", "htpasswd",
              f"{topo.REGISTRY_USER}:{hashed}\n".encode(), mode=0o644)
    engine.api.start(container_id)


def _put_file(engine, container_id: str, directory: str, name: str, data: bytes, *,
              mode: int, uid: int = 0) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.uid, info.gid = len(data), mode, uid, uid
        tar.addfile(info, io.BytesIO(data))
    engine.api.put_archive(container_id, directory, buffer.getvalue())


def host(engine: docker.DockerClient, image: str, lab_host: topo.LabHost, owner: str) -> bool:
    """Start one host (systemd as PID 1); return whether it was created by this call."""
    if _running(engine, lab_host.container):
        return False
    apt_cache = topo.APT_CACHE / lab_host.name
    for cache in ("archives", "lists"):
        (apt_cache / cache).mkdir(parents=True, exist_ok=True)
    container_id = _create(
        engine, lab_host.container, image, lab_host.ip,
        hostname=lab_host.name,
        environment={"container": "docker"},
        labels={LABEL: "host", OWNER: owner,
                f"{LABEL}.host": lab_host.name, f"{LABEL}.group": lab_host.group},
        # What systemd and a nested Docker engine need without --privileged; NET_ADMIN lets
        # the hardening role load the host's firewall into its own network namespace.
        cap_add=["SYS_ADMIN", "NET_ADMIN"],
        security_opt=["seccomp=unconfined", "apparmor=unconfined"],
        tmpfs={"/run": "", "/run/lock": "", "/tmp": ""},
        binds={
            "/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"},
            str(apt_cache / "archives"): {"bind": "/var/cache/apt/archives", "mode": "rw"},
            str(apt_cache / "lists"): {"bind": "/var/lib/apt/lists", "mode": "rw"},
        },
        # Not on the container's overlay, so the nested engine can use overlay2 rather than vfs.
        volumes=["/var/lib/docker"],
    )
    public_key = SSH_KEY.with_suffix(".pub").read_bytes()
    _put_file(engine, container_id, "/home/admin/.ssh", "authorized_keys", public_key,
              mode=0o600, uid=ADMIN_UID)
    engine.api.start(container_id)
    return True


def wait_for_ssh(lab_host: topo.LabHost, known_hosts: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((lab_host.ip, 22), timeout=2):
                pass
        except OSError:
            time.sleep(0.5)
            continue
        probe = subprocess.run(
            ["ssh", "-i", str(SSH_KEY), "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
             "-o", f"UserKnownHostsFile={known_hosts}", "-o", "StrictHostKeyChecking=accept-new",
             f"{topo.SSH_USER}@{lab_host.ip}", "sudo", "-n", "true"],
            capture_output=True, check=False,
        )
        if probe.returncode == 0:
            return
        time.sleep(0.5)
    raise SystemExit(f"{lab_host.name} did not answer over SSH within {timeout:.0f} s")


def remove_all(engine: docker.DockerClient) -> None:
    for container in engine.containers.list(all=True, filters={"label": LABEL}):
        with step(f"Removing {container.name}"):
            container.remove(force=True, v=True)
    for net in engine.networks.list(filters={"label": LABEL}):
        net.remove()
        note(f"removed network {net.name}")
    for volume in engine.volumes.list(filters={"label": LABEL}):
        volume.remove(force=True)
        note(f"removed volume {volume.name}")
