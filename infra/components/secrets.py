"""Secrets Manager entries the hosts read at deploy time: the app's keys and service credentials.

The database master password is not here: RDS generates, stores and rotates it in a secret of its
own, which no host reads. The shop's own database login (a least-privilege role) is: the stack makes
up its first password, the deploy sets it in PostgreSQL, and the shop reads the secret whenever it
opens a connection, so a rotation (which changes both) never breaks it.
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
    # The user the shop connects to the broker as, and the broker's administrator.
    broker_username: str
    broker_admin_username: str
    # The database role the shop logs in as.
    database_username: str
    tags: Mapping[str, str]


class Secrets(pulumi.ComponentResource):
    app_secret_arn: pulumi.Output[str]
    cache_auth_secret_arn: pulumi.Output[str]
    broker_secret_arn: pulumi.Output[str]
    broker_admin_secret_arn: pulumi.Output[str]
    database_login_secret_arn: pulumi.Output[str]

    def __init__(self, name: str, args: SecretsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("shopstack:secrets:Secrets", name, None, opts)
        credentials = args.credentials

        def secret(suffix: str, description: str, value: pulumi.Output[str],
                   rotated: bool = False) -> aws.secretsmanager.Secret:
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
                # A rotated secret's later versions belong to the rotation, not to this program.
                opts=pulumi.ResourceOptions(parent=self, ignore_changes=["secret_string"] if rotated else None),
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
        broker_password = random.RandomPassword(
            f"{name}-broker", length=40, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        broker = secret(
            "broker",
            "RabbitMQ user the shop connects as (no management rights); rotated through the management API",
            pulumi.Output.json_dumps({"username": args.broker_username, "password": broker_password.result}),
            rotated=True,
        )
        broker_admin = secret(
            "broker-admin",
            "RabbitMQ administrator, used by the deploy only to manage the shop's user",
            pulumi.Output.json_dumps(
                {"username": args.broker_admin_username, "password": credentials.broker_password}
            ),
        )
        database_password = random.RandomPassword(
            f"{name}-database-login", length=40, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        database_login = secret(
            "database-login",
            "The database role the shop logs in as (not the master user); rotated in PostgreSQL and here together",
            pulumi.Output.json_dumps({"username": args.database_username, "password": database_password.result}),
            rotated=True,
        )

        self.app_secret_arn = app.arn
        self.cache_auth_secret_arn = cache.arn
        self.broker_secret_arn = broker.arn
        self.broker_admin_secret_arn = broker_admin.arn
        self.database_login_secret_arn = database_login.arn
        self.register_outputs(
            {
                "app_secret_arn": self.app_secret_arn,
                "cache_auth_secret_arn": self.cache_auth_secret_arn,
                "broker_secret_arn": self.broker_secret_arn,
                "broker_admin_secret_arn": self.broker_admin_secret_arn,
                "database_login_secret_arn": self.database_login_secret_arn,
            }
        )
