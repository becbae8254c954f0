"""The stack outputs: the contract between this program and the playbooks and pipelines.

Every key is defined here once. ``infra/__main__.py`` exports exactly these keys, the playbooks
read them with ``pulumi stack output --json`` (or import ``StackOutput``), and the table in
``infra/README.md`` is generated from ``DESCRIPTIONS`` (``python -m infra.snapshot --update``).
"""

from enum import StrEnum


class StackOutput(StrEnum):
    REGION = "region"
    STACK = "stack"
    SHOP_URL = "shop_url"
    LOAD_BALANCER_DNS_NAME = "load_balancer_dns_name"
    REGISTRY_URL = "registry_url"
    DATABASE_ENDPOINT = "database_endpoint"
    DATABASE_INSTANCE_ID = "database_instance_id"
    DATABASE_PORT = "database_port"
    DATABASE_NAME = "database_name"
    DATABASE_SECRET_ARN = "database_secret_arn"
    DATABASE_LOGIN_SECRET_ARN = "database_login_secret_arn"
    APP_ROLE_ARN = "app_role_arn"
    CACHE_ENDPOINT = "cache_endpoint"
    CACHE_PORT = "cache_port"
    CACHE_AUTH_SECRET_ARN = "cache_auth_secret_arn"
    BROKER_ENDPOINT = "broker_endpoint"
    BROKER_SECRET_ARN = "broker_secret_arn"
    BROKER_ADMIN_SECRET_ARN = "broker_admin_secret_arn"
    BROKER_MANAGEMENT_URL = "broker_management_url"
    APP_SECRET_ARN = "app_secret_arn"
    WEB_GROUP_NAME = "web_group_name"
    WORKER_GROUP_NAME = "worker_group_name"
    HOST_SELECTORS = "host_selectors"
    SSM_TRANSFER_BUCKET = "ssm_transfer_bucket"
    BUNDLE_BUCKET = "bundle_bucket"
    ALARM_TOPIC_ARN = "alarm_topic_arn"
    PROMETHEUS_REMOTE_WRITE_URL = "prometheus_remote_write_url"
    DASHBOARD_NAME = "dashboard_name"


DESCRIPTIONS: dict[StackOutput, str] = {
    StackOutput.REGION: "AWS region of every resource in the stack.",
    StackOutput.STACK: ("Stack name (`dev`, `staging`, `prod`); the value of the `shopstack:stack` tag."),
    StackOutput.SHOP_URL: (
        "The shop's public base URL: `https://<domainName>` when a domain is configured, else plain http."
    ),
    StackOutput.LOAD_BALANCER_DNS_NAME: ("DNS name of the application load balancer; point a CNAME here."),
    StackOutput.REGISTRY_URL: ("ECR repository URL the pipeline pushes the app image to and hosts pull from."),
    StackOutput.DATABASE_ENDPOINT: "PostgreSQL host name (TLS required).",
    StackOutput.DATABASE_INSTANCE_ID: (
        "RDS instance identifier of the shop's database; the restore drill restores its backups "
        "(`python -m pipelines restore-drill`)."
    ),
    StackOutput.DATABASE_PORT: "PostgreSQL port.",
    StackOutput.DATABASE_NAME: "Name of the shop's database.",
    StackOutput.DATABASE_SECRET_ARN: (
        "Secrets Manager secret holding the database master `username` and `password` (managed and rotated by "
        "RDS); only the deploy reads it, to create the shop's own role."
    ),
    StackOutput.DATABASE_LOGIN_SECRET_ARN: (
        "Secrets Manager secret holding the least-privilege role the shop logs in as (`username`, `password`); "
        "the shop reads it when it opens a connection (`DATABASE_SECRET_ARN`)."
    ),
    StackOutput.APP_ROLE_ARN: (
        "IAM role the app hosts' credential endpoint assumes for the shop's containers (reads the database login only)."
    ),
    StackOutput.CACHE_ENDPOINT: "Redis primary endpoint (TLS, AUTH token required).",
    StackOutput.CACHE_PORT: "Redis port.",
    StackOutput.CACHE_AUTH_SECRET_ARN: ("Secrets Manager secret holding the Redis AUTH token (`auth_token`)."),
    StackOutput.BROKER_ENDPOINT: ("RabbitMQ AMQPS endpoint (`amqps://host:5671`), without credentials."),
    StackOutput.BROKER_SECRET_ARN: (
        "Secrets Manager secret holding the shop's broker `username` and `password` (no management rights; "
        "permissions on the shop's vhost only)."
    ),
    StackOutput.BROKER_ADMIN_SECRET_ARN: (
        "Secrets Manager secret holding the broker administrator's `username` and `password`; only the "
        "deploy reads it, to create and rotate the shop's user."
    ),
    StackOutput.BROKER_MANAGEMENT_URL: (
        "RabbitMQ's management HTTP API (the broker's console URL), reachable from the web hosts."
    ),
    StackOutput.APP_SECRET_ARN: (
        "Secrets Manager secret holding the app's `SECRET_KEY`, `PAYMENT_WEBHOOK_SECRET` and `SANDBOX_WEBHOOK_SECRET`."
    ),
    StackOutput.WEB_GROUP_NAME: "Auto Scaling group of the web hosts.",
    StackOutput.WORKER_GROUP_NAME: "Auto Scaling group of the worker hosts.",
    StackOutput.HOST_SELECTORS: (
        "Per role (`web`, `worker`), the aws_ec2 inventory `filters` that select this stack's hosts."
    ),
    StackOutput.SSM_TRANSFER_BUCKET: (
        "S3 bucket Ansible's `aws_ssm` connection uses to move files to hosts (objects expire after a day)."
    ),
    StackOutput.BUNDLE_BUCKET: (
        "S3 bucket (versioned) of playbook bundles: the deploy uploads `playbooks/current.tar.gz`, and a host the "
        "Auto Scaling group launches configures itself from it before it goes in service."
    ),
    StackOutput.ALARM_TOPIC_ARN: ("SNS topic every CloudWatch alarm notifies; subscribe on-call here."),
    StackOutput.PROMETHEUS_REMOTE_WRITE_URL: (
        "Amazon Managed Service for Prometheus remote-write URL the hosts' Prometheus agents send to (SigV4, "
        "the instance role); it evaluates monitoring/rules and routes alerts to the alarm topic."
    ),
    StackOutput.DASHBOARD_NAME: ("CloudWatch dashboard with the shop's load balancer, hosts and data services."),
}
