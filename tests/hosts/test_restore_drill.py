"""A restore drill on the lab's database (RDS's stand-in): the newest backup the schedule took is
restored into a new PostgreSQL cluster beside the live one, and must hold every order, payment and
product the live database had at the backup's time.

RPO: the age of the newest restorable data when the drill starts (the newest dump's start; the lab
dumps every 5 minutes). RTO:
from the start of the restore (a new cluster) until the restored database answers a query. Both
are printed and written to build/restore-drill.json for the closing note.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

testinfra_hosts = ["ansible://data"]

ROOT = Path(__file__).resolve().parents[2]
FIGURES = ROOT / "build" / "restore-drill.json"
# The backup's directory and schedule: the lab's postgresql role's (no inventory overrides them).
BACKUP_SETTINGS = yaml.safe_load((ROOT / "lab" / "roles" / "postgresql" / "defaults" / "main.yml").read_text())
DRILL_CLUSTER = ("15", "drill", 5439)
# Tables compared between the restored and the live database: those with a creation time are
# counted up to the backup's time; the catalogue is compared whole.
COUNTED_TO_BACKUP = {"orders": "created_at", "payments": "created_at"}
COUNTED_WHOLE = ("products",)
# The timer's slot (postgresql_backup_schedule) and the most a dump may take after it.
SCHEDULE_SECONDS, DUMP_SECONDS = 5 * 60, 120


def _psql(host, port: int, sql: str) -> str:
    return host.check_output(f'runuser -u postgres -- psql --port {port} --dbname shop -AtXc "{sql}"')


def _drop_drill_cluster(host) -> None:
    version, name, _ = DRILL_CLUSTER
    host.check_output(f"if [ -d /etc/postgresql/{version}/{name} ]; then pg_dropcluster --stop {version} {name}; fi")


def _newest_backup_of_the_schema(host, directory: str) -> str:
    """The newest dump, once one holds the shop's tables: a host configured moments ago may have
    dumped its database only before the release's migrations created them (the next run follows
    within the schedule)."""
    deadline = time.monotonic() + SCHEDULE_SECONDS + DUMP_SECONDS
    while True:
        newest = host.check_output(f"ls -1 {directory}/shop-*.dump 2>/dev/null | sort | tail -n 1 || true")
        if newest and "TABLE public orders " in host.check_output(f"pg_restore --list {newest}"):
            return newest
        assert time.monotonic() < deadline, f"no backup of the shop's tables in {directory}: {newest!r}"
        time.sleep(10)


@pytest.fixture(scope="module")
def drill(host):
    variables = host.ansible.get_variables()
    directory, live_port = BACKUP_SETTINGS["postgresql_backup_directory"], int(variables["shop_database_port"])
    version, name, port = DRILL_CLUSTER
    newest = _newest_backup_of_the_schema(host, directory)
    started = datetime.now(UTC)
    taken_at = datetime.strptime(Path(newest).stem.removeprefix("shop-"), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    _drop_drill_cluster(host)
    restore_started = time.monotonic()
    host.check_output(f"pg_createcluster {version} {name} --port {port} --start")
    host.check_output(f"runuser -u postgres -- createdb --port {port} shop")
    host.check_output(
        f"runuser -u postgres -- pg_restore --port {port} --dbname shop --no-owner "
        f"--no-privileges --exit-on-error {newest}"
    )
    _psql(host, port, "SELECT count(*) FROM orders")
    rto = time.monotonic() - restore_started
    try:
        rows = {}
        for table, column in COUNTED_TO_BACKUP.items():
            rows[table] = {
                "restored": int(_psql(host, port, f"SELECT count(*) FROM {table}")),
                "live_up_to_backup": int(
                    _psql(host, live_port, f"SELECT count(*) FROM {table} WHERE {column} <= '{taken_at.isoformat()}'")
                ),
            }
        for table in COUNTED_WHOLE:
            rows[table] = {
                "restored": int(_psql(host, port, f"SELECT count(*) FROM {table}")),
                "live": int(_psql(host, live_port, f"SELECT count(*) FROM {table}")),
            }
    finally:
        _drop_drill_cluster(host)
    figures = {
        "backup": newest,
        "backup_taken_at": taken_at.isoformat(),
        "drill_started_at": started.isoformat(timespec="seconds"),
        "schedule": BACKUP_SETTINGS["postgresql_backup_schedule"],
        "rpo_seconds": round((started - taken_at).total_seconds()),
        "rto_seconds": round(rto, 1),
        "rows": rows,
    }
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    FIGURES.write_text(json.dumps(figures, indent=2) + "\n")
    print(
        f"restore drill: RPO {figures['rpo_seconds']} s (backup {newest}), RTO {figures['rto_seconds']} s, rows {rows}"
    )
    return figures


def test_backup_timer_is_enabled_and_waiting(host):
    timer = host.service("postgresql-backup.timer")
    assert (timer.is_enabled, timer.is_running) == (True, True)


def test_newest_backup_is_from_the_last_scheduled_slot(drill):
    assert drill["rpo_seconds"] <= SCHEDULE_SECONDS + DUMP_SECONDS, drill


@pytest.mark.parametrize("table", COUNTED_TO_BACKUP)
def test_restored_database_has_every_row_up_to_the_backup(drill, table):
    counts = drill["rows"][table]
    assert counts["restored"] == counts["live_up_to_backup"], counts


@pytest.mark.parametrize("table", COUNTED_WHOLE)
def test_restored_database_has_the_whole_catalogue(drill, table):
    counts = drill["rows"][table]
    assert counts["restored"] == counts["live"] > 0, counts
