"""The versioned bucket of playbook bundles a new host configures itself from.

The pipeline's ``bundle`` step uploads the playbooks with the stack's settings as
``playbooks/<release>.tar.gz`` and copies it to ``playbooks/current.tar.gz``; a host the Auto
Scaling group launches fetches the current bundle with its instance role on first boot, converges
itself locally and only then lets the group put it in service (the launch lifecycle hook).
"""

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.components.access import private_bucket

# Where bundles live in the bucket; the hosts may read this prefix only.
PREFIX = "playbooks/"
CURRENT = f"{PREFIX}current.tar.gz"


@dataclass
class BundleBucketArgs:
    tags: Mapping[str, str]
    # Days a superseded bundle is kept (a host launched during a rollback fetches the current one).
    noncurrent_days: int = 30
    # Bundles are rebuilt by every deploy, so ``pulumi destroy`` may empty the bucket.
    force_destroy: bool = True


class BundleBucket(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]

    def __init__(self, name: str, args: BundleBucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("shopstack:access:BundleBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        bucket = private_bucket(f"{name}-bucket", args.force_destroy, args.tags, child)
        aws.s3.BucketVersioning(
            f"{name}-bucket",
            bucket=bucket.bucket,
            versioning_configuration={"status": "Enabled"},
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-bucket",
            bucket=bucket.bucket,
            rules=[
                {
                    "id": "expire-superseded-bundles",
                    "status": "Enabled",
                    "filter": {"prefix": PREFIX},
                    "noncurrent_version_expiration": {"noncurrent_days": args.noncurrent_days},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
                }
            ],
            opts=child,
        )
        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.register_outputs({"bucket_name": self.bucket_name, "bucket_arn": self.bucket_arn})
