"""The log-retention provider against a stubbed CloudWatch Logs: what it asks AWS to do."""

import boto3
import pytest
from botocore.stub import Stubber

from infra.components.log_retention import apply_retention

GROUP = "/aws/amazonmq/broker/b-1234/general"
ARN = f"arn:aws:logs:us-east-1:123456789012:log-group:{GROUP}"
PROPS = {"log_group_name": GROUP, "retention_in_days": 14.0, "region": "us-east-1", "tags": {"Name": "shop-mq-logs"}}


@pytest.fixture
def logs():
    client = boto3.client("logs", region_name="us-east-1", aws_access_key_id="offline", aws_secret_access_key="offline")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_a_group_the_service_created_first_is_adopted_and_given_the_retention(logs):
    client, stubber = logs
    stubber.add_client_error("create_log_group", "ResourceAlreadyExistsException")
    stubber.add_response("describe_log_groups", {"logGroups": [{"logGroupName": GROUP, "arn": f"{ARN}:*"}]})
    stubber.add_response("tag_resource", {}, {"resourceArn": ARN, "tags": {"Name": "shop-mq-logs"}})
    stubber.add_response("put_retention_policy", {}, {"logGroupName": GROUP, "retentionInDays": 14})
    apply_retention(client, PROPS)


def test_a_group_not_yet_there_is_created_with_its_tags_and_retention(logs):
    client, stubber = logs
    stubber.add_response("create_log_group", {}, {"logGroupName": GROUP, "tags": {"Name": "shop-mq-logs"}})
    stubber.add_response("put_retention_policy", {}, {"logGroupName": GROUP, "retentionInDays": 14})
    apply_retention(client, PROPS)


def test_a_new_retention_updates_in_place_and_a_new_group_replaces():
    from infra.components.log_retention import _LogRetentionProvider

    provider = _LogRetentionProvider()
    longer = provider.diff(GROUP, PROPS, {**PROPS, "retention_in_days": 30.0})
    assert longer.changes and not longer.replaces
    moved = provider.diff(GROUP, PROPS, {**PROPS, "log_group_name": "/aws/amazonmq/broker/b-5678/general"})
    assert moved.replaces == ["log_group_name"]
