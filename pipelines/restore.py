"""The AWS side of the backup and restore drill: restore the shop's RDS database into a new instance,
check the copy holds the shop's data, measure RPO and RTO, and delete the copy.

    python -m pipelines restore-drill --stack prod [--from snapshot] [--through-web-host] [--keep]

``--from point-in-time`` (the default) restores to the source's latest restorable time (RDS ships
the transaction log every five minutes); ``--from snapshot`` restores its latest automated
snapshot. The copy gets the source's subnet group, security groups and parameter group (TLS
forced), one zone, no public address, no deletion protection, and the tag ``shopstack:restore-drill``
naming its source, so a copy a crashed drill left behind is easy to find and delete.

The check logs in as the shop's own role (its secret's current password, or the previous one when a
rotation happened after the restore point), counts the rows of the shop's main tables and reads the
newest order's time. The database admits only the stack's hosts: ``--through-web-host`` opens a
Session Manager port forward through one of the web hosts (the AWS CLI and its session-manager
plugin on the machine running the drill).

RPO: how much the restore lost, the time between the drill's start and the newest moment the copy
holds (the latest restorable time, or the snapshot's). RTO: wall time from the restore request
until the copy answered the check. Both go into ``build/restore-drill-<stack>.json``.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
POINT_IN_TIME, SNAPSHOT = "point-in-time", "snapshot"
DRILL_TAG = "shopstack:restore-drill"
# The tables whose rows the check counts: what a shop cannot lose.
TABLES = ("users", "products", "orders", "order_lines", "payments", "shipments")

# Where a drill connects to the copy: (address, port) -> the (host, port) to open a connection to.
Reach = Callable[[str, int], contextlib.AbstractContextManager[tuple[str, int]]]


@dataclass(frozen=True)
class Waiting:
    # Seconds between two looks at the copy, and how many looks before giving up (RDS takes
    # minutes to an hour or more to restore, depending on the size).
    delay: int = 30
    attempts: int = 180


@dataclass
class DrillReport:
    source: str
    copy: str
    method: str
    started_at: str
    restored_to: str
    rpo_seconds: float
    rto_seconds: float
    row_counts: dict[str, int] = field(default_factory=dict)
    newest_order_at: str | None = None
    copy_deleted: bool = False

    def summary(self) -> str:
        rows = ", ".join(f"{table} {count}" for table, count in self.row_counts.items())
        return (
            f"{self.source} restored ({self.method}) into {self.copy}: RPO {self.rpo_seconds:.0f} s, "
            f"RTO {self.rto_seconds:.0f} s; rows: {rows}; newest order {self.newest_order_at}; "
            f"copy {'deleted' if self.copy_deleted else 'kept'}"
        )


@contextlib.contextmanager
def direct(address: str, port: int) -> Iterator[tuple[str, int]]:
    yield address, port


def drill(
    rds: Any,
    secrets: Any,
    *,
    source: str,
    login_secret_arn: str,
    database: str,
    method: str = POINT_IN_TIME,
    copy: str | None = None,
    reach: Reach = direct,
    sslmode: str = "require",
    waiting: Waiting = Waiting(),
    keep: bool = False,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> DrillReport:
    """Restore ``source`` into ``copy``, check it, and delete it (unless ``keep``)."""
    started_at = now()
    copy = copy or f"{source}-drill-{started_at:%Y%m%d%H%M%S}"
    started = clock()
    restored_to = restore(rds, source, copy, method)
    report = DrillReport(
        source,
        copy,
        method,
        started_at.isoformat(),
        restored_to.isoformat(),
        rpo_seconds=(started_at - restored_to).total_seconds(),
        rto_seconds=0.0,
    )
    try:
        rds.get_waiter("db_instance_available").wait(
            DBInstanceIdentifier=copy, WaiterConfig={"Delay": waiting.delay, "MaxAttempts": waiting.attempts}
        )
        endpoint = rds.describe_db_instances(DBInstanceIdentifier=copy)["DBInstances"][0]["Endpoint"]
        with reach(endpoint["Address"], int(endpoint["Port"])) as (host, port):
            report.row_counts, report.newest_order_at = check(
                host, port, database, logins(secrets, login_secret_arn), sslmode
            )
        report.rto_seconds = clock() - started
    finally:
        if not keep:
            delete_copy(rds, copy, waiting)
            report.copy_deleted = True
    return report


def restore(rds: Any, source: str, copy: str, method: str) -> datetime:
    """Ask RDS for the copy; returns the newest moment the copy will hold."""
    instance = rds.describe_db_instances(DBInstanceIdentifier=source)["DBInstances"][0]
    placement = {
        "DBSubnetGroupName": instance["DBSubnetGroup"]["DBSubnetGroupName"],
        "VpcSecurityGroupIds": [group["VpcSecurityGroupId"] for group in instance["VpcSecurityGroups"]],
        "DBParameterGroupName": instance["DBParameterGroups"][0]["DBParameterGroupName"],
        "DBInstanceClass": instance["DBInstanceClass"],
        "MultiAZ": False,
        "PubliclyAccessible": False,
        "DeletionProtection": False,
        "Tags": [{"Key": DRILL_TAG, "Value": source}],
    }
    if method == SNAPSHOT:
        snapshot = latest_automated_snapshot(rds, source)
        rds.restore_db_instance_from_db_snapshot(
            DBInstanceIdentifier=copy, DBSnapshotIdentifier=snapshot["DBSnapshotIdentifier"], **placement
        )
        return _utc(snapshot["SnapshotCreateTime"])
    if method != POINT_IN_TIME:
        raise ValueError(f"unknown restore method {method!r}")
    restored_to = _utc(instance["LatestRestorableTime"])
    rds.restore_db_instance_to_point_in_time(
        SourceDBInstanceIdentifier=source, TargetDBInstanceIdentifier=copy, UseLatestRestorableTime=True, **placement
    )
    return restored_to


def latest_automated_snapshot(rds: Any, source: str) -> dict[str, Any]:
    snapshots = [
        snapshot
        for page in rds.get_paginator("describe_db_snapshots").paginate(
            DBInstanceIdentifier=source, SnapshotType="automated"
        )
        for snapshot in page["DBSnapshots"]
        if snapshot["Status"] == "available"
    ]
    if not snapshots:
        raise LookupError(f"{source} has no available automated snapshot")
    return max(snapshots, key=lambda snapshot: snapshot["SnapshotCreateTime"])


def logins(secrets: Any, secret_arn: str) -> list[tuple[str, str]]:
    """The shop's login as the copy may know it: the current password, then the previous one."""
    found = []
    for stage in ("AWSCURRENT", "AWSPREVIOUS"):
        try:
            value = json.loads(secrets.get_secret_value(SecretId=secret_arn, VersionStage=stage)["SecretString"])
        except secrets.exceptions.ResourceNotFoundException:
            continue
        found.append((value["username"], value["password"]))
    return found


def check(
    host: str, port: int, database: str, candidates: Sequence[tuple[str, str]], sslmode: str
) -> tuple[dict[str, int], str | None]:
    """Row counts of the shop's tables and the newest order's time, read from the copy."""
    refused: list[str] = []
    for user, password in candidates:
        try:
            connection = psycopg.connect(
                host=host, port=port, dbname=database, user=user, password=password, sslmode=sslmode, connect_timeout=10
            )
        except psycopg.OperationalError as error:
            if "password authentication failed" not in str(error):
                raise
            refused.append(user)
            continue
        with connection:
            counts = {
                table: connection.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[
                    0
                ]  # type: ignore[index]
                for table in TABLES
            }
            newest = connection.execute("SELECT max(created_at) FROM orders").fetchone()[0]  # type: ignore[index]
        return counts, newest.isoformat() if newest else None
    raise PermissionError(f"the copy refused every password of the shop's login ({len(refused)} tried)")


def delete_copy(rds: Any, copy: str, waiting: Waiting) -> None:
    rds.delete_db_instance(DBInstanceIdentifier=copy, SkipFinalSnapshot=True, DeleteAutomatedBackups=True)
    rds.get_waiter("db_instance_deleted").wait(
        DBInstanceIdentifier=copy, WaiterConfig={"Delay": waiting.delay, "MaxAttempts": waiting.attempts}
    )


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def through_web_host(autoscaling: Any, group: str, region: str) -> Reach:
    """A Session Manager port forward to the copy through one of the stack's web hosts."""
    instances = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"][0][
        "Instances"
    ]
    host = next(i["InstanceId"] for i in instances if i["LifecycleState"] == "InService")

    @contextlib.contextmanager
    def forward(address: str, port: int) -> Iterator[tuple[str, int]]:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            local = probe.getsockname()[1]
        parameters = json.dumps({"host": [address], "portNumber": [str(port)], "localPortNumber": [str(local)]})
        session = subprocess.Popen(
            [
                "aws",
                "ssm",
                "start-session",
                "--region",
                region,
                "--target",
                host,
                "--document-name",
                "AWS-StartPortForwardingSessionToRemoteHost",
                "--parameters",
                parameters,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            for _ in range(60):
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", local), timeout=1):
                    break
                if session.poll() is not None:
                    raise RuntimeError(f"the port forward through {host} ended: {session.stderr.read()!r}")  # type: ignore[union-attr]
                time.sleep(1)
            yield "127.0.0.1", local
        finally:
            session.terminate()
            session.wait(timeout=30)

    return forward


def restore_drill(stack: str, method: str, through_web_host_: bool, keep: bool) -> str:
    """The drill against a real stack, found by its outputs."""
    import boto3

    from infra.outputs import StackOutput as Out
    from pipelines.render_aws_inventory import stack_outputs

    outputs = stack_outputs(stack)
    session = boto3.session.Session(region_name=outputs[Out.REGION])
    reach = (
        through_web_host(session.client("autoscaling"), outputs[Out.WEB_GROUP_NAME], outputs[Out.REGION])
        if through_web_host_
        else direct
    )
    report = drill(
        session.client("rds"),
        session.client("secretsmanager"),
        source=outputs[Out.DATABASE_INSTANCE_ID],
        login_secret_arn=outputs[Out.DATABASE_LOGIN_SECRET_ARN],
        database=outputs[Out.DATABASE_NAME],
        method=method,
        reach=reach,
        keep=keep,
    )
    out = ROOT / "build" / f"restore-drill-{stack}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(asdict(report), indent=2) + "\n")
    return report.summary()
