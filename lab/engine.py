"""Make sure a Docker engine answers, installing and starting one on a bare Debian machine (CI)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import docker
from docker.errors import DockerException

from lab.progress import step

# The sandboxed CI machines lack CAP_SYS_RESOURCE, so the engine must not try to raise the
# containers' limits above what it already has; these stay under the machine's hard limits.
DAEMON_CONFIG = {
    "default-ulimits": {
        "nofile": {"Name": "nofile", "Soft": 20000, "Hard": 20000},
        "nproc": {"Name": "nproc", "Soft": 65535, "Hard": 65535},
    },
}
DAEMON_JSON = Path("/etc/docker/daemon.json")
DAEMON_LOG = Path("/var/log/shopstack-dockerd.log")
# make test runs the other suites beside the lab: wait for their apt-get's lock rather than fail on it.
APT_GET = ["apt-get", "-o", "DPkg::Lock::Timeout=600"]
DOCKER_CLIENT = "/usr/bin/docker"


def client() -> docker.DockerClient:
    """Return a client of a running engine, starting one first when this machine has none."""
    try:
        engine = docker.from_env(timeout=300)
        engine.ping()
        return engine
    except DockerException:
        pass
    _install_and_start()
    return docker.from_env(timeout=300)


def _install_and_start() -> None:
    if os.geteuid() != 0:
        raise SystemExit("no Docker engine answers, and only root may install and start one here")
    if not Path("/usr/sbin/dockerd").exists():
        with step("Installing docker.io (no engine on this machine)"):
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            subprocess.run([*APT_GET, "update", "-qq"], check=True, env=env)
            subprocess.run(
                [*APT_GET, "install", "-y", "-qq", "docker.io", "debootstrap"],
                check=True,
                env=env,
                stdout=subprocess.DEVNULL,
            )
    if not DAEMON_JSON.exists():
        DAEMON_JSON.parent.mkdir(parents=True, exist_ok=True)
        DAEMON_JSON.write_text(json.dumps(DAEMON_CONFIG, indent=2) + "\n")
    with step(f"Starting dockerd (log in {DAEMON_LOG})"):
        env = {**os.environ, "PATH": f"/usr/bin:/usr/sbin:{os.environ.get('PATH', '')}"}
        with DAEMON_LOG.open("ab") as log:
            subprocess.Popen(  # noqa: S603 - a daemon that outlives this command on purpose
                ["/usr/sbin/dockerd"], stdout=log, stderr=log, env=env, start_new_session=True
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                docker.from_env().ping()
                return
            except DockerException:
                time.sleep(1)
        raise SystemExit(f"dockerd did not answer within 60 s; see {DAEMON_LOG}")


def require_tool(name: str, package: str | None = None) -> str:
    """The path of a command, installing its Debian package first when root may."""
    path = shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if path is None and os.geteuid() == 0:
        with step(f"Installing {package or name}"):
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            subprocess.run([*APT_GET, "update", "-qq"], check=True, env=env)
            subprocess.run([*APT_GET, "install", "-y", "-qq", package or name], check=True,
                           env=env, stdout=subprocess.DEVNULL)
        path = shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if path is None:
        raise SystemExit(f"{name} is not installed (apt-get install {package or name})")
    return path
