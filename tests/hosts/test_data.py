"""The lab's data host: PostgreSQL, Redis and RabbitMQ on its private address, behind passwords,
and their exporters, which expose every metric monitoring/ queries of them."""

import pytest

from monitoring.metrics import POSTGRES_EXPORTER, RABBITMQ, REDIS_EXPORTER

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


def test_every_event_consumer_queue_has_a_consumer(host):
    # shop.events.<consumer>; its .retry queue has no reader by design, its .dead queue is parked.
    vhost = host.ansible.get_variables()["shop_broker_vhost"]
    listing = host.check_output(f"rabbitmqctl --node rabbit@localhost --quiet list_queues -p {vhost} "
                                "--no-table-headers name consumers")
    queues = dict(line.split() for line in listing.splitlines() if line.strip())
    consumers = {name: int(count) for name, count in queues.items()
                 if name.startswith("shop.events.") and not name.endswith((".retry", ".dead"))}
    assert consumers and all(consumers.values()), consumers


# Each exporter's service, port and path, and the names monitoring/metrics.py says it exposes.
EXPORTERS = {
    "prometheus-postgres-exporter": (9187, "/metrics", POSTGRES_EXPORTER),
    "prometheus-redis-exporter": (9121, "/metrics", REDIS_EXPORTER),
    "rabbitmq-server": (15692, "/metrics/per-object", RABBITMQ),
}


def _series_names(text: str) -> set[str]:
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}


@pytest.mark.parametrize("service", [s for s in EXPORTERS if s.startswith("prometheus-")])
def test_exporter_is_enabled_and_running(host, service):
    assert (host.service(service).is_enabled, host.service(service).is_running) == (True, True)


@pytest.mark.parametrize("service", EXPORTERS)
def test_exporter_exposes_what_monitoring_queries(host, service):
    port, path, names = EXPORTERS[service]
    address = host.ansible.get_variables()["ansible_host"]
    exposed = _series_names(host.check_output(f"curl -fsS http://{address}:{port}{path}"))
    assert sorted(names - exposed) == []


@pytest.mark.parametrize(("service", "up"), [("prometheus-postgres-exporter", "pg_up"),
                                             ("prometheus-redis-exporter", "redis_up")])
def test_exporter_reaches_its_service(host, service, up):
    port, path, _ = EXPORTERS[service]
    assert f"{up} 1" in host.check_output(f"curl -fsS http://127.0.0.1:{port}{path}").splitlines()
