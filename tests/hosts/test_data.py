"""The lab's data host: PostgreSQL, Redis and RabbitMQ on its private address, behind passwords."""

import pytest

testinfra_hosts = ["ansible://data"]

SERVICES = {"postgresql": 5432, "redis-server": 6379, "rabbitmq-server": 5672}


@pytest.mark.parametrize("service", SERVICES)
def test_service_is_enabled(host, service):
    assert host.service(service).is_enabled


@pytest.mark.parametrize("service", SERVICES)
def test_service_is_running(host, service):
    assert host.service(service).is_running


@pytest.mark.parametrize("port", SERVICES.values())
def test_service_listens_on_the_private_address(host, port):
    address = host.ansible.get_variables()["ansible_host"]
    assert host.socket(f"tcp://{address}:{port}").is_listening


def test_redis_refuses_clients_without_the_password(host):
    assert "NOAUTH" in host.check_output("redis-cli -h 127.0.0.1 ping")


def test_redis_configuration_is_not_world_readable(host):
    config = host.file("/etc/redis/redis.conf")
    assert (config.mode, config.user, config.group) == (0o640, "redis", "redis")


def test_postgresql_accepts_only_password_logins_from_the_network(host):
    rules = host.check_output(
        "grep -E '^host' /etc/postgresql/15/main/pg_hba.conf | awk '{print $5}' | sort -u"
    )
    assert rules.split() == ["scram-sha-256"]


def test_rabbitmq_has_no_guest_user(host):
    users = host.check_output("rabbitmqctl --node rabbit@localhost --quiet list_users")
    assert "guest" not in users.split()
