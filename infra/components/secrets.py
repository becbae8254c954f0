"""Secrets Manager entries the hosts read at deploy time: the app's keys and service credentials.

The database password is not here: RDS generates, stores and rotates it in a secret of its own.
"""

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from infra.config import Credentials, SecretSettings
from infra.tags import resource_tags


@dataclass
class SecretsArgs:
    settings: SecretSettings
    credentials: Credentials
    # The user the shop connects to the broker as.
    broker_username: str
    tags: Mapping[str, str]


class Secrets(pulumi.ComponentResource):
    app_secret_arn: pulumi.Output[str]
    cache_auth_secret_arn: pulumi.Output[str]
    broker_secret_arn: pulumi.Output[str]

    def __init__(self, name: str, args: SecretsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("shopstack:secrets:Secrets", name, None, opts)
        credentials = args.credentials

        def secret(suffix: str, description: str, value: pulumi.Output[str]) -> aws.secretsmanager.Secret:
            entry = aws.secretsmanager.Secret(
                f"{name}-{suffix}",
                # A prefix, not a name: a deleted secret keeps its name for the recovery window,
                # so a fixed name would block rebuilding the stack or replacing the secret.
                name_prefix=f"shopstack/{name}/{suffix}-",
                description=description,
                recovery_window_in_days=args.settings.recovery_window_days,
                tags=resource_tags(args.tags, f"{name}-{suffix}"),
                opts=pulumi.ResourceOptions(parent=self),
            )
            aws.secretsmanager.SecretVersion(
                f"{name}-{suffix}",
                secret_id=entry.id,
                secret_string=value,
                opts=pulumi.ResourceOptions(parent=self),
            )
            return entry

        # Signs the sandbox gateway's settlement events (while the sandbox is the stack's gateway):
        # nothing outside the stack needs it, so the stack makes it up.
        sandbox_webhook_secret = random.RandomPassword(
            f"{name}-sandbox-webhook", length=40, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        app = secret(
            "app",
            "The shop's SECRET_KEY, PAYMENT_WEBHOOK_SECRET and SANDBOX_WEBHOOK_SECRET",
            pulumi.Output.json_dumps(
                {
                    "SECRET_KEY": credentials.app_secret_key,
                    "PAYMENT_WEBHOOK_SECRET": credentials.payment_webhook_secret,
                    "SANDBOX_WEBHOOK_SECRET": sandbox_webhook_secret.result,
                }
            ),
        )
        cache = secret(
            "cache",
            "Redis AUTH token",
            pulumi.Output.json_dumps({"auth_token": credentials.cache_auth_token}),
        )
        broker = secret(
            "broker",
            "RabbitMQ user the shop connects as",
            pulumi.Output.json_dumps({"username": args.broker_username, "password": credentials.broker_password}),
        )

        self.app_secret_arn = app.arn
        self.cache_auth_secret_arn = cache.arn
        self.broker_secret_arn = broker.arn
        self.register_outputs(
            {
                "app_secret_arn": self.app_secret_arn,
                "cache_auth_secret_arn": self.cache_auth_secret_arn,
                "broker_secret_arn": self.broker_secret_arn,
            }
        )
