import json

import pulumi
import pytest

from infra.components.monitoring import Monitoring, MonitoringArgs
from infra.components.registry import Registry, RegistryArgs
from infra.components.secrets import Secrets, SecretsArgs
from infra.config import Credentials, MonitoringSettings, RegistrySettings, SecretSettings
from tests.infra.support import TAGS, build, is_secret, settings

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def test_registry_scans_every_push_and_never_moves_a_tag():
    run = build(lambda: Registry("shop-test", RegistryArgs(settings("prod", "registry", RegistrySettings), TAGS)))
    repository = run.one("aws:ecr/repository:Repository")
    assert repository.inputs["imageScanningConfiguration"]["scanOnPush"] is True, repository.urn
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE", repository.urn
    assert repository.inputs["forceDelete"] is False, repository.urn


def test_registry_lifecycle_keeps_releases_and_expires_untagged_layers():
    registry_settings = settings("prod", "registry", RegistrySettings, keep_images=30, untagged_expiry_days=5)
    run = build(lambda: Registry("shop-test", RegistryArgs(registry_settings, TAGS)))
    policy = run.one("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    rules = {rule["selection"]["tagStatus"]: rule["selection"] for rule in json.loads(policy.inputs["policy"])["rules"]}
    assert rules["untagged"]["countNumber"] == 5, policy.urn
    assert rules["any"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 30}, policy.urn


@pytest.fixture(scope="module")
def secrets():
    def program():
        credentials = Credentials(
            cache_auth_token=pulumi.Output.secret("token"),
            broker_password=pulumi.Output.secret("broker-pass"),
            app_secret_key=pulumi.Output.secret("app-key"),
            payment_webhook_secret=pulumi.Output.secret("webhook"),
        )
        entries = Secrets("shop-test", SecretsArgs(SecretSettings(recovery_window_days=7), credentials, "shop",
                                                   "shopstack-admin", "shop_app", TAGS))
        return pulumi.Output.all(entries.app_secret_arn, entries.cache_auth_secret_arn, entries.broker_secret_arn,
                                 entries.database_login_secret_arn)

    return build(program)


def test_secret_values_stay_encrypted_in_state(secrets):
    for version in secrets.of_type("aws:secretsmanager/secretVersion:SecretVersion"):
        assert is_secret(version.inputs["secretString"]), version.urn


@pytest.mark.parametrize(
    ("entry", "document"),
    [
        ("shop-test-app", {"SECRET_KEY": "app-key", "PAYMENT_WEBHOOK_SECRET": "webhook",
                           "SANDBOX_WEBHOOK_SECRET": "the stack's own random password"}),
        ("shop-test-cache", {"auth_token": "token"}),
        ("shop-test-broker", {"username": "shop", "password": "the stack's own random password"}),
        ("shop-test-broker-admin", {"username": "shopstack-admin", "password": "broker-pass"}),
        ("shop-test-database-login", {"username": "shop_app", "password": "the stack's own random password"}),
    ],
)
def test_each_secret_holds_the_documented_keys(secrets, entry, document):
    version = secrets.one("aws:secretsmanager/secretVersion:SecretVersion", entry)
    made_up = {"shop-test-app": "shop-test-sandbox-webhook", "shop-test-database-login": "shop-test-database-login",
               "shop-test-broker": "shop-test-broker"}
    password = secrets.one("random:index/randomPassword:RandomPassword",
                           made_up.get(entry, "shop-test-sandbox-webhook"))
    expected = {key: password.state["result"] if value == "the stack's own random password" else value
                for key, value in document.items()}
    assert json.loads(version.inputs["secretString"]["value"]) == expected, version.urn


def test_the_sandbox_webhook_secret_is_long_and_made_up_by_the_stack(secrets):
    password = secrets.one("random:index/randomPassword:RandomPassword", "shop-test-sandbox-webhook")
    assert password.inputs["length"] >= 32 and password.inputs["special"] is False, password.urn


def test_secret_arns_are_exposed(secrets):
    entries = {s.name: s.state["arn"] for s in secrets.of_type("aws:secretsmanager/secret:Secret")}
    kinds = ("app", "cache", "broker", "database-login")
    assert secrets.outputs["checks"] == [entries[f"shop-test-{kind}"] for kind in kinds]


@pytest.mark.parametrize("entry", ["shop-test-database-login", "shop-test-broker"])
def test_a_rotation_owns_a_rotated_login_after_its_first_version(secrets, entry):
    version = secrets.one("aws:secretsmanager/secretVersion:SecretVersion", entry)
    assert version.ignore_changes == ("secretString",), version.urn


def test_secrets_set_in_config_stay_pulumis_to_change(secrets):
    version = secrets.one("aws:secretsmanager/secretVersion:SecretVersion", "shop-test-app")
    assert version.ignore_changes == (), version.urn


def test_secret_names_are_prefixes_so_a_rebuild_never_meets_a_deleted_namesake(secrets):
    for entry in secrets.of_type("aws:secretsmanager/secret:Secret"):
        assert "name" not in entry.inputs, entry.urn
        assert entry.inputs["namePrefix"] == f"shopstack/{entry.name}-".replace("shop-test-", "shop-test/"), entry.urn


def monitoring(**changes):
    monitoring_settings = settings("prod", "monitoring", MonitoringSettings, **changes)
    args = MonitoringArgs(
        monitoring_settings,
        region="us-east-1",
        load_balancer="app/shop-test/1",
        target_group="targetgroup/shop-test/1",
        database_instance="shop-test-db",
        cache_nodes=["shop-test-redis-001", "shop-test-redis-002"],
        broker="shop-test-mq",
        host_groups={"web": "shop-test-web", "worker": "shop-test-worker"},
        tags=TAGS,
    )
    return build(lambda: Monitoring("shop-test", args))


@pytest.fixture(scope="module")
def watched():
    return monitoring()


@pytest.mark.parametrize(
    ("namespace", "metric"),
    [
        ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
        ("AWS/ApplicationELB", "TargetResponseTime"),
        ("AWS/ApplicationELB", "HealthyHostCount"),
        ("AWS/RDS", "CPUUtilization"),
        ("AWS/RDS", "FreeStorageSpace"),
        ("AWS/RDS", "DatabaseConnections"),
        ("AWS/ElastiCache", "DatabaseMemoryUsagePercentage"),
        ("AWS/ElastiCache", "Evictions"),
        ("AWS/AmazonMQ", "MessageReadyCount"),
        ("AWS/EC2", "StatusCheckFailed"),
    ],
)
def test_an_alarm_watches(watched, namespace, metric):
    def reads(alarm):
        if alarm.inputs.get("metricName") == metric and alarm.inputs.get("namespace") == namespace:
            return True
        return any(
            q.get("metric", {}).get("metricName") == metric and q["metric"]["namespace"] == namespace
            for q in alarm.inputs.get("metricQueries") or []
        )

    assert any(reads(alarm) for alarm in watched.of_type(ALARM)), f"no alarm on {namespace} {metric}"


def test_every_alarm_notifies_the_topic(watched):
    topic = watched.one("aws:sns/topic:Topic")
    for alarm in watched.of_type(ALARM):
        assert alarm.inputs["alarmActions"] == [topic.state["arn"]], alarm.urn
        assert alarm.inputs["okActions"] == [topic.state["arn"]], alarm.urn


def test_5xx_alarm_is_a_rate_of_all_requests(watched):
    alarm = watched.one(ALARM, "shop-test-http-5xx")
    (rate,) = [q for q in alarm.inputs["metricQueries"] if q.get("returnData")]
    assert rate["expression"] == "100 * (FILL(lb, 0) + FILL(hosts, 0)) / requests", alarm.urn


def test_each_redis_node_and_host_group_has_its_alarms(watched):
    names = {alarm.name for alarm in watched.of_type(ALARM)}
    assert {"shop-test-cache-1-memory", "shop-test-cache-2-memory", "shop-test-cache-2-evictions"} <= names
    assert {"shop-test-web-status-check", "shop-test-worker-status-check"} <= names


SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"


def test_no_subscription_when_none_is_configured():
    run = monitoring(alarm_emails=(), alarm_https_endpoints=())
    assert not run.of_type(SUBSCRIPTION)


def test_every_configured_address_and_endpoint_subscribes_to_the_alarm_topic():
    run = monitoring(alarm_emails=("a@example.com", "b@example.com"), alarm_https_endpoints=("https://page.example",))
    topic = run.one("aws:sns/topic:Topic")
    subscribed = {(s.inputs["protocol"], s.inputs["endpoint"]) for s in run.of_type(SUBSCRIPTION)}
    assert subscribed == {("email", "a@example.com"), ("email", "b@example.com"), ("https", "https://page.example")}
    for subscription in run.of_type(SUBSCRIPTION):
        assert subscription.inputs["topic"] == topic.state["arn"], subscription.urn


def test_removing_one_subscriber_leaves_the_others_names_alone():
    both = {s.name for s in monitoring(alarm_emails=("a@example.com", "b@example.com")).of_type(SUBSCRIPTION)}
    one = {s.name for s in monitoring(alarm_emails=("b@example.com",)).of_type(SUBSCRIPTION)}
    assert one < both


def test_dashboard_covers_the_shop(watched):
    dashboard = watched.one("aws:cloudwatch/dashboard:Dashboard")
    titles = [w["properties"]["title"] for w in json.loads(dashboard.inputs["dashboardBody"])["widgets"]]
    assert titles == [
        "Requests and errors",
        "Response time p99 (s)",
        "Host CPU %",
        "Database",
        "Redis memory %",
        "Jobs waiting",
    ], dashboard.urn


def test_the_first_address_keeps_the_subscription_the_former_single_email_setting_made():
    run = monitoring(alarm_emails=("oncall@example.com", "b@example.com"))
    (first,) = [s for s in run.of_type(SUBSCRIPTION) if s.inputs["endpoint"] == "oncall@example.com"]
    assert first.aliases == ("shop-test-alarms-email",), first.urn
    (second,) = [s for s in run.of_type(SUBSCRIPTION) if s.inputs["endpoint"] == "b@example.com"]
    assert not second.aliases, second.urn
