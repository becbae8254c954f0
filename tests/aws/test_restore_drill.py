"""The AWS restore drill (pipelines/restore.py) against the emulator's RDS and Secrets Manager, and a
PostgreSQL cluster of the test's own standing in for the copy's data.

moto restores no data: a restored instance is a record with an endpoint nobody serves. The drill's
AWS calls (finding the source, the latest automated snapshot or the latest restorable time,
restoring into a new instance placed like the source, waiting for it, deleting it) run against the
emulator; the check it then makes (logging in as the shop's role, counting the shop's rows) runs
against a migrated, seeded shop database in the test's cluster, which the test's ``reach`` puts
where the copy's endpoint is.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from flask_migrate import upgrade

from pipelines.restore import DRILL_TAG, POINT_IN_TIME, SNAPSHOT, TABLES, Waiting, drill, latest_automated_snapshot
from shop import create_app
from shop.config import TestConfig
from shop.extensions import db
from shop.seed import seed_demo

from .conftest import REGION, admin, reset

SOURCE = "shop-test-db-1a2b3c4d"
QUICK = Waiting(delay=1, attempts=5)


@pytest.fixture(scope="module")
def shop_database(cluster):
    """A shop database owned by its role (as on RDS), migrated and seeded with a small demo shop."""
    role, password, name = f"shop_app_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex, f"shop_{uuid.uuid4().hex[:8]}"
    with admin(cluster) as superuser:
        superuser.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        superuser.execute(f"CREATE DATABASE {name} OWNER {role}")
    url = f"postgresql+psycopg://{role}:{password}@127.0.0.1:{cluster.port}/{name}"
    app = create_app(type("DrillConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url}))
    with app.app_context():
        upgrade()
        seed_demo(products_per_category=6, orders=7, progress=lambda _: None)
        db.engine.dispose()
    yield {"role": role, "password": password, "name": name}
    with admin(cluster) as superuser:
        superuser.execute(f"DROP DATABASE {name} WITH (FORCE)")
        superuser.execute(f"DROP ROLE {role}")


@pytest.fixture
def stack(endpoint_url, shop_database):
    """What infra/ creates for the database, in the emulator: the instance and the shop's login."""
    reset(endpoint_url)
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    rds, secrets, ec2 = (session.client(name, endpoint_url=endpoint_url) for name in ("rds", "secretsmanager", "ec2"))
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{n}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"][
            "SubnetId"
        ]
        for n, zone in ((1, "a"), (2, "b"))
    ]
    group = ec2.create_security_group(GroupName="shop-test-sg-db", Description="db", VpcId=vpc)["GroupId"]
    rds.create_db_subnet_group(
        DBSubnetGroupName="shop-test-db-subnets", DBSubnetGroupDescription="db", SubnetIds=subnets
    )
    rds.create_db_parameter_group(
        DBParameterGroupName="shop-test-db-params", DBParameterGroupFamily="postgres16", Description="force_ssl"
    )
    rds.create_db_instance(
        DBInstanceIdentifier=SOURCE,
        Engine="postgres",
        DBInstanceClass="db.t4g.micro",
        DBName="shop",
        MasterUsername="shop_admin",
        ManageMasterUserPassword=True,
        AllocatedStorage=20,
        DBSubnetGroupName="shop-test-db-subnets",
        VpcSecurityGroupIds=[group],
        DBParameterGroupName="shop-test-db-params",
        MultiAZ=True,
        # Not deletion-protected as prod is: moto's restore copies the source's protection into the
        # copy and drops the request's False (AWS does not copy it), so the drill could not delete
        # its copy here.
        DeletionProtection=False,
        BackupRetentionPeriod=7,
        StorageEncrypted=True,
    )
    login = secrets.create_secret(
        Name="shopstack/test/database-login",
        SecretString=json.dumps({"username": shop_database["role"], "password": shop_database["password"]}),
    )["ARN"]
    return {
        "rds": rds,
        "secrets": secrets,
        "login": login,
        "group": group,
        "database": shop_database["name"],
        "role": shop_database["role"],
    }


class Copy:
    """Where the drill connects: the test's cluster, in place of the copy's endpoint; remembers
    what the drill asked for and what RDS said about the copy while it was up."""

    def __init__(self, cluster, rds) -> None:
        self.cluster, self.rds = cluster, rds
        self.asked: list[tuple[str, int]] = []
        self.described: dict = {}

    @contextlib.contextmanager
    def reach(self, address: str, port: int):
        self.asked.append((address, port))
        self.described = next(
            i for i in self.rds.describe_db_instances()["DBInstances"] if i["Endpoint"]["Address"] == address
        )
        yield "127.0.0.1", self.cluster.port


@pytest.fixture
def copy(cluster, stack) -> Copy:
    return Copy(cluster, stack["rds"])


def run_drill(stack, copy, **options):
    return drill(
        stack["rds"],
        stack["secrets"],
        source=SOURCE,
        login_secret_arn=stack["login"],
        database=stack["database"],
        reach=copy.reach,
        sslmode="disable",
        waiting=QUICK,
        **options,
    )


def instances(stack) -> list[str]:
    return [i["DBInstanceIdentifier"] for i in stack["rds"].describe_db_instances()["DBInstances"]]


def test_the_drill_restores_into_a_new_instance_and_counts_the_shops_rows(stack, copy):
    report = run_drill(stack, copy)

    assert report.copy != SOURCE and report.copy.startswith(f"{SOURCE}-drill-")
    assert copy.described["DBInstanceIdentifier"] == report.copy
    assert set(report.row_counts) == set(TABLES)
    assert report.row_counts["orders"] == 7 and report.row_counts["products"] > 0
    assert report.newest_order_at is not None


def requests_of(stack, operation: str) -> list[dict]:
    """The parameters of each ``operation`` the drill sends: what it asks of RDS, which moto only
    partly honours (its restore drops False overrides)."""
    sent: list[dict] = []
    stack["rds"].meta.events.register(
        f"provide-client-params.rds.{operation}", lambda params, **_: sent.append(dict(params))
    )
    return sent


@pytest.mark.parametrize(
    ("method", "operation"),
    [(POINT_IN_TIME, "RestoreDBInstanceToPointInTime"), (SNAPSHOT, "RestoreDBInstanceFromDBSnapshot")],
)
def test_the_copy_is_asked_for_where_the_source_is_single_zone_private_and_deletable(stack, copy, method, operation):
    sent = requests_of(stack, operation)
    run_drill(stack, copy, method=method)

    (request,) = sent
    assert request["DBSubnetGroupName"] == "shop-test-db-subnets"
    assert request["VpcSecurityGroupIds"] == [stack["group"]]
    assert request["DBParameterGroupName"] == "shop-test-db-params"
    assert (request["MultiAZ"], request["PubliclyAccessible"], request["DeletionProtection"]) == (False, False, False)
    assert request["Tags"] == [{"Key": DRILL_TAG, "Value": SOURCE}]


def test_the_copy_carries_the_drill_tag(stack, copy):
    run_drill(stack, copy)

    assert {"Key": DRILL_TAG, "Value": SOURCE} in copy.described["TagList"]


def test_the_copy_is_deleted_and_the_source_left_alone(stack, copy):
    report = run_drill(stack, copy)

    assert report.copy_deleted
    assert instances(stack) == [SOURCE]


def test_a_kept_copy_stays(stack, copy):
    report = run_drill(stack, copy, keep=True)

    assert not report.copy_deleted
    assert sorted(instances(stack)) == sorted([SOURCE, report.copy])


def rotate(stack, password: str) -> None:
    """A rotation after the restore point: the copy still has the password the secret held before."""
    stack["secrets"].put_secret_value(
        SecretId=stack["login"], SecretString=json.dumps({"username": stack["role"], "password": password})
    )


def test_the_copy_is_deleted_when_its_check_fails(stack, copy):
    rotate(stack, "not-the-password")
    rotate(stack, "nor-this-one")  # neither the current nor the previous password is the copy's

    with pytest.raises(PermissionError, match="refused every password"):
        run_drill(stack, copy)
    assert instances(stack) == [SOURCE]


def test_the_previous_password_logs_in_when_a_rotation_followed_the_restore_point(stack, copy):
    rotate(stack, "rotated-after-the-backup")

    assert run_drill(stack, copy).row_counts["orders"] == 7


def test_rpo_of_a_point_in_time_restore_is_the_start_less_the_latest_restorable_time(stack, copy):
    # moto's latest restorable time is "now" at each call: the one the drill read is the one to compare.
    seen: list = []
    stack["rds"].meta.events.register(
        "after-call.rds.DescribeDBInstances",
        lambda parsed, **_: seen.extend(
            i["LatestRestorableTime"] for i in parsed.get("DBInstances", []) if i["DBInstanceIdentifier"] == SOURCE
        ),
    )
    start = datetime.now(UTC) + timedelta(minutes=4)

    report = run_drill(stack, copy, method=POINT_IN_TIME, now=lambda: start)

    assert report.restored_to == seen[0].isoformat()
    assert report.rpo_seconds == (start - seen[0]).total_seconds()
    assert 239 < report.rpo_seconds <= 240


def test_a_snapshot_restore_uses_the_newest_automated_snapshot(stack, copy):
    rds = stack["rds"]
    newest = latest_automated_snapshot(rds, SOURCE)
    start = newest["SnapshotCreateTime"] + timedelta(hours=3)

    report = run_drill(stack, copy, method=SNAPSHOT, now=lambda: start)

    assert report.restored_to == newest["SnapshotCreateTime"].isoformat()
    assert report.rpo_seconds == 3 * 3600.0
    assert report.row_counts["orders"] == 7


def test_rto_runs_from_the_restore_request_to_the_checked_copy(stack, copy):
    ticks = iter([100.0, 163.5])

    report = run_drill(stack, copy, clock=lambda: next(ticks))

    assert report.rto_seconds == 63.5


def test_a_source_without_automated_snapshots_cannot_be_restored_from_one(stack):
    with pytest.raises(LookupError, match="no available automated snapshot"):
        latest_automated_snapshot(stack["rds"], "shop-test-db-none")
