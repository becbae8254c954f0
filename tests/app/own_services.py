"""Services a fault test may stop: a RabbitMQ node and a PostgreSQL cluster of its own, on free
ports, in a temporary directory. The shared ones (5672, 5432) are never touched."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

RABBITMQ_SERVER = "rabbitmq-server"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answering(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_until(check, what: str, timeout: float = 60.0, interval: float = 0.1):
    """Poll `check()` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def _shared_directory(prefix: str) -> Path:
    # The services run as their own users (rabbitmq, postgres): pytest's tmp_path is root's only.
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o777)
    return path


class RabbitNode:
    def __init__(self) -> None:
        self.directory = _shared_directory("shoptest-rabbitmq-")
        self.port, self.dist_port = free_port(), free_port()
        self.name = f"shoptest-{os.getpid()}-{self.port}@localhost"
        (self.directory / "enabled_plugins").write_text("[].\n")
        (self.directory / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (self.directory / "rabbitmq-env.conf").write_text("ERL_EPMD_ADDRESS=127.0.0.1\n")
        for path in self.directory.iterdir():
            path.chmod(0o644)
        self.env = {**os.environ, "RABBITMQ_NODENAME": self.name, "RABBITMQ_NODE_PORT": str(self.port),
                    "RABBITMQ_DIST_PORT": str(self.dist_port),
                    "RABBITMQ_CONFIG_FILE": str(self.directory / "rabbitmq.conf"),
                    "RABBITMQ_CONF_ENV_FILE": str(self.directory / "rabbitmq-env.conf"),
                    "RABBITMQ_MNESIA_BASE": str(self.directory / "mnesia"),
                    "RABBITMQ_LOG_BASE": str(self.directory / "log"),
                    "RABBITMQ_PID_FILE": str(self.directory / "pid"),
                    "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.directory / "enabled_plugins")}

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def start(self) -> None:
        subprocess.run([RABBITMQ_SERVER, "-detached"], env=self.env, check=True, capture_output=True)
        wait_until(lambda: answering(self.port), f"RabbitMQ {self.name} to listen on {self.port}")

    def stop(self) -> None:
        subprocess.run(["rabbitmqctl", "-n", self.name, "stop"], env=self.env, check=True, capture_output=True,
                       timeout=60)
        wait_until(lambda: not answering(self.port), f"RabbitMQ {self.name} to stop listening")

    def remove(self) -> None:
        if answering(self.port):
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


class PostgresCluster:
    def __init__(self) -> None:
        self.directory = _shared_directory("shoptest-postgres-")
        self.port = free_port()
        shutil.chown(self.directory, "postgres", "postgres")
        self.data = self.directory / "data"
        self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                          "--no-sync")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/shop"

    def _as_postgres(self, *command: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *command], check=True, capture_output=True, timeout=120)

    def _pg_ctl(self, action: str, *options: str) -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.directory / "log"), "-w",
                          "-o", f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off",
                          *options, action)

    def start(self) -> None:
        self._pg_ctl("start")

    def restart(self) -> None:
        self._pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        self._pg_ctl("stop", "-m", "fast")

    def remove(self) -> None:
        if answering(self.port):
            self._pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.directory, ignore_errors=True)
