import pulumi
import pytest

from infra.components.broker import Broker, BrokerArgs
from infra.components.cache import Cache, CacheArgs
from infra.components.database import Database, DatabaseArgs
from infra.config import BrokerSettings, CacheSettings, DatabaseSettings
from tests.infra.support import SUBNETS, TAGS, build, is_secret, settings

RDS = "aws:rds/instance:Instance"
REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"
MQ = "aws:mq/broker:Broker"


def database(stack="prod", **changes):
    db_settings = settings(stack, "database", DatabaseSettings, **changes)

    def program():
        db = Database("shop-test-db", DatabaseArgs(db_settings, SUBNETS, "sg-db", TAGS))
        return pulumi.Output.all(db.endpoint, db.port, db.secret_arn)

    return build(program)


def cache(stack="prod", **changes):
    cache_settings = settings(stack, "cache", CacheSettings, **changes)

    def program():
        redis = Cache(
            "shop-test-cache",
            CacheArgs(cache_settings, SUBNETS, "sg-cache", pulumi.Output.secret("token-0123456789abcdef"), TAGS),
        )
        return pulumi.Output.all(redis.endpoint, *redis.node_ids)

    return build(program)


def broker(stack="prod", **changes):
    broker_settings = settings(stack, "broker", BrokerSettings, **changes)

    def program():
        mq = Broker(
            "shop-test-mq",
            BrokerArgs(broker_settings, SUBNETS, "sg-mq", pulumi.Output.secret("password-0123"), 7, TAGS),
        )
        return pulumi.Output.all(mq.endpoint)

    return build(program)


def test_database_is_private_encrypted_and_keeps_its_own_password():
    instance = database().one(RDS)
    assert instance.inputs["publiclyAccessible"] is False, instance.urn
    assert instance.inputs["storageEncrypted"] is True, instance.urn
    assert instance.inputs["manageMasterUserPassword"] is True, instance.urn
    assert "password" not in instance.inputs, instance.urn
    assert instance.inputs["vpcSecurityGroupIds"] == ["sg-db"], instance.urn


def test_database_refuses_unencrypted_connections():
    group = database().one("aws:rds/parameterGroup:ParameterGroup")
    parameters = {p["name"]: p["value"] for p in group.inputs["parameters"]}
    assert parameters["rds.force_ssl"] == "1", group.urn


@pytest.mark.parametrize(
    ("stack", "multi_az", "protected", "backup_days"), [("dev", False, False, 1), ("prod", True, True, 14)]
)
def test_database_resilience_follows_the_stack(stack, multi_az, protected, backup_days):
    instance = database(stack).one(RDS)
    assert instance.inputs["multiAz"] is multi_az, instance.urn
    assert instance.inputs["deletionProtection"] is protected, instance.urn
    assert instance.inputs["backupRetentionPeriod"] == backup_days, instance.urn


def test_deleting_the_database_leaves_a_final_snapshot_when_configured():
    kept = database("prod").one(RDS)
    assert kept.inputs["skipFinalSnapshot"] is False, kept.urn
    assert kept.inputs["finalSnapshotIdentifier"] == "shop-test-db-final", kept.urn
    skipped = database("dev").one(RDS)
    assert skipped.inputs["skipFinalSnapshot"] is True, skipped.urn


def test_database_exposes_endpoint_port_and_the_managed_secret():
    endpoint, port, secret_arn = database().outputs["checks"]
    assert endpoint.endswith(".rds.amazonaws.com") and port == 5432
    assert ":secret:rds!db-" in secret_arn


def test_cache_encrypts_at_rest_and_in_transit_with_an_auth_token():
    group = cache().one(REDIS)
    assert group.inputs["atRestEncryptionEnabled"] is True, group.urn
    assert group.inputs["transitEncryptionEnabled"] is True, group.urn
    assert is_secret(group.inputs["authToken"]), f"{group.urn}: AUTH token must stay secret"
    assert group.inputs["authToken"]["value"] == "token-0123456789abcdef", group.urn
    assert group.inputs["securityGroupIds"] == ["sg-cache"], group.urn


@pytest.mark.parametrize(("stack", "nodes", "failover"), [("dev", 1, False), ("prod", 2, True)])
def test_cache_failover_follows_the_stack(stack, nodes, failover):
    group = cache(stack).one(REDIS)
    assert group.inputs["numCacheClusters"] == nodes, group.urn
    assert group.inputs["automaticFailoverEnabled"] is failover, group.urn
    assert group.inputs["multiAzEnabled"] is failover, group.urn


def test_cache_names_each_node_for_its_alarms():
    endpoint, *nodes = cache().outputs["checks"]
    assert endpoint.startswith("master.")
    assert nodes == ["replicationgroup-shop-test-cache-redis-001", "replicationgroup-shop-test-cache-redis-002"]


def test_broker_is_private_rabbitmq():
    instance = broker().one(MQ)
    assert instance.inputs["engineType"] == "RabbitMQ", instance.urn
    assert instance.inputs["publiclyAccessible"] is False, instance.urn
    assert instance.inputs["securityGroups"] == ["sg-mq"], instance.urn
    users = instance.inputs["users"]
    assert is_secret(users), f"{instance.urn}: broker users must stay secret in state"
    assert users["value"][0]["password"] == "password-0123", instance.urn


@pytest.mark.parametrize(
    ("stack", "mode", "subnets"), [("dev", "SINGLE_INSTANCE", SUBNETS[:1]), ("prod", "CLUSTER_MULTI_AZ", SUBNETS)]
)
def test_broker_is_a_cluster_across_zones_in_prod(stack, mode, subnets):
    instance = broker(stack).one(MQ)
    assert instance.inputs["deploymentMode"] == mode, instance.urn
    assert instance.inputs["subnetIds"] == subnets, instance.urn


def test_broker_endpoint_is_amqps():
    (endpoint,) = broker().outputs["checks"]
    assert endpoint.startswith("amqps://") and endpoint.endswith(":5671")


def test_broker_logs_are_kept_for_the_retention():
    log_group = broker().one("aws:cloudwatch/logGroup:LogGroup")
    assert log_group.inputs["name"] == "/aws/amazonmq/broker/shop-test-mq-rabbitmq/general", log_group.urn
    assert log_group.inputs["retentionInDays"] == 7, log_group.urn
