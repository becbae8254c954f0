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


def database(stack="prod", protect=False, **changes):
    db_settings = settings(stack, "database", DatabaseSettings, **changes)

    def program():
        db = Database(
            "shop-test-db",
            DatabaseArgs(db_settings, SUBNETS, "sg-db", log_retention_days=7, tags=TAGS),
            opts=pulumi.ResourceOptions(protect=protect),
        )
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
            BrokerArgs(broker_settings, SUBNETS, "sg-mq", pulumi.Output.secret("password-0123"), 7, "us-east-1", TAGS),
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
    skipped = database("dev").one(RDS)
    assert skipped.inputs["skipFinalSnapshot"] is True, skipped.urn
    assert "finalSnapshotIdentifier" not in skipped.inputs, skipped.urn


def test_the_final_snapshot_is_named_after_this_incarnation_of_the_database():
    run = database("prod")
    instance, suffix = run.one(RDS), run.one("random:index/randomId:RandomId")
    assert instance.inputs["identifier"] == f"shop-test-db-{suffix.state['hex']}", instance.urn
    assert instance.inputs["finalSnapshotIdentifier"] == f"{instance.inputs['identifier']}-final", instance.urn


def test_rds_exports_into_log_groups_that_exist_first_with_a_retention():
    run = database("prod")
    instance = run.one(RDS)
    groups = {g.inputs["name"]: g for g in run.of_type("aws:cloudwatch/logGroup:LogGroup")}
    identifier = instance.inputs["identifier"]
    expected = {f"/aws/rds/instance/{identifier}/{log}" for log in instance.inputs["enabledCloudwatchLogsExports"]}
    assert set(groups) == expected, instance.urn
    for group in groups.values():
        assert group.inputs["retentionInDays"] == 7, group.urn
        assert group.urn in instance.dependencies, f"{instance.urn} may write before {group.urn} exists"


@pytest.mark.parametrize("protect", [True, False])
def test_the_database_carries_the_protection_it_is_given(protect):
    instance = database("prod", protect=protect).one(RDS)
    assert instance.protect is protect, instance.urn


def test_database_exposes_endpoint_port_and_the_managed_secret():
    endpoint, port, secret_arn = database().outputs["checks"]
    assert endpoint.endswith(".rds.amazonaws.com") and port == 5432
    assert ":secret:rds!db-" in secret_arn


def test_cache_encrypts_at_rest_and_in_transit_with_an_auth_token():
    group = cache().one(REDIS)
    assert group.inputs["atRestEncryptionEnabled"] is True, group.urn
    assert group.inputs["transitEncryptionEnabled"] is True, group.urn
    assert group.inputs["transitEncryptionMode"] == "required", group.urn
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


def test_the_broker_is_created_with_its_administrator_only():
    instance = broker().one(MQ)
    (user,) = instance.inputs["users"]["value"]
    assert (user["username"], user["consoleAccess"]) == ("shopstack-admin", True), instance.urn


def test_a_change_to_the_brokers_users_never_replaces_the_broker():
    instance = broker().one(MQ)
    assert instance.ignore_changes == ("users",), instance.urn


def test_the_management_api_is_the_brokers_console_url():
    run = build(lambda: Broker("shop-test-mq", BrokerArgs(settings("prod", "broker", BrokerSettings), SUBNETS, "sg-mq",
                                                          "password-0123", 7, "us-east-1", TAGS)).management_url)
    assert run.outputs["checks"] == run.one(MQ).state["instances"][0]["consoleUrl"]


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


def test_broker_logs_are_kept_in_the_group_amazon_mq_names_by_broker_id():
    run = broker()
    instance, retention = run.one(MQ), run.one("pulumi-python:dynamic:Resource", "shop-test-mq-logs")
    assert instance.id.startswith("b-"), instance.urn
    assert retention.inputs["log_group_name"] == f"/aws/amazonmq/broker/{instance.id}/general", retention.urn
    assert retention.inputs["retention_in_days"] == 7, retention.urn


def test_the_broker_creates_its_own_log_group_so_the_program_does_not():
    assert not broker().of_type("aws:cloudwatch/logGroup:LogGroup")


def test_the_broker_name_is_left_to_pulumi_so_a_replacement_cannot_collide():
    instance = broker().one(MQ)
    assert "brokerName" not in instance.inputs, instance.urn
