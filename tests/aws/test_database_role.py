"""database_login run with ansible-playbook against a PostgreSQL cluster of the tests' own, as a master
login shaped like RDS's (creates roles and databases, owns the shop's database, is no superuser).

The role runs once per module; the tests read what it left, then a second run.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest

from .conftest import admin, output, role_tasks, run_play

MASTER_PASSWORD = uuid.uuid4().hex
FIRST_PASSWORD = uuid.uuid4().hex


@pytest.fixture(scope="module")
def names() -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return {"master": f"shop_master_{suffix}", "login": f"shop_app_{suffix}", "database": f"shop_{suffix}"}


@pytest.fixture(scope="module")
def variables(cluster, names) -> dict:
    return {"database_login_host": "127.0.0.1", "database_login_port": cluster.port,
            "database_login_database": names["database"], "database_login_sslmode": "disable",
            "database_login_master_user": names["master"], "database_login_master_password": MASTER_PASSWORD,
            "database_login_user": names["login"], "database_login_password": FIRST_PASSWORD,
            "database_login_install_client": False}


@pytest.fixture(scope="module")
def converged(cluster, names, variables):
    with admin(cluster) as superuser:
        superuser.execute(f"CREATE ROLE {names['master']} LOGIN CREATEROLE CREATEDB PASSWORD '{MASTER_PASSWORD}'")
        superuser.execute(f"CREATE DATABASE {names['database']} OWNER {names['master']}")
    first = run_play("Create the shop's database login", role_tasks("main.yml", "database_login"), variables)
    assert first.returncode == 0, output(first)
    yield first
    with admin(cluster) as superuser:
        superuser.execute(f"DROP DATABASE IF EXISTS {names['database']}")
        superuser.execute(f"DROP ROLE IF EXISTS {names['login']}")
        superuser.execute(f"DROP ROLE IF EXISTS {names['master']}")


def _login(cluster, names, password: str) -> psycopg.Connection:
    return psycopg.connect(host="127.0.0.1", port=cluster.port, user=names["login"], password=password,
                           dbname=names["database"], autocommit=True)


def test_the_shops_role_has_no_superuser_database_or_role_rights(converged, cluster, names):
    with admin(cluster) as superuser:
        rights = superuser.execute("SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolcanlogin "
                                   "FROM pg_roles WHERE rolname = %s", (names["login"],)).fetchone()
    assert rights == (False, False, False, False, True)


def test_the_shops_tables_land_in_the_schema_the_role_owns(converged, cluster, names):
    with _login(cluster, names, FIRST_PASSWORD) as shop:
        shop.execute("CREATE TABLE product (id int)")
        schema, owner = shop.execute("SELECT n.nspname, pg_get_userbyid(c.relowner) FROM pg_class c "
                                     "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = 'product'"
                                     ).fetchone()
    assert (schema, owner) == (names["login"], names["login"])


def test_the_shops_role_cannot_create_in_the_public_schema(converged, cluster, names):
    with _login(cluster, names, FIRST_PASSWORD) as shop, pytest.raises(psycopg.errors.InsufficientPrivilege):
        shop.execute("CREATE TABLE public.intruder (id int)")


def test_a_second_run_changes_nothing_and_keeps_a_rotated_password(converged, cluster, names, variables):
    rotated = uuid.uuid4().hex
    with admin(cluster) as superuser:
        superuser.execute(f"ALTER ROLE {names['login']} PASSWORD '{rotated}'")
    second = run_play("Create the shop's database login", role_tasks("main.yml", "database_login"), variables)
    assert second.returncode == 0 and "changed=0" in second.stdout, output(second)
    with _login(cluster, names, rotated) as shop:
        assert shop.execute("SELECT current_user").fetchone() == (names["login"],)
