"""The S3 bucket Ansible's ``aws_ssm`` connection stages files in on their way to a host.

Hosts have no SSH: Ansible connects through Session Manager and moves files through this bucket
with short-lived presigned URLs, so the hosts themselves need no permission on it.
"""

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.tags import resource_tags


@dataclass
class TransferBucketArgs:
    tags: Mapping[str, str]
    # Days before a staged file is deleted; Ansible removes its files itself, this is the sweep.
    expiry_days: int = 1
    # Nothing in the bucket outlives a playbook run, so ``pulumi destroy`` may empty it.
    force_destroy: bool = True


class TransferBucket(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]

    def __init__(self, name: str, args: TransferBucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("shopstack:access:TransferBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            force_destroy=args.force_destroy,
            tags=resource_tags(args.tags, f"{name}-bucket"),
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-bucket",
            bucket=bucket.bucket,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            opts=child,
        )
        aws.s3.BucketPublicAccessBlock(
            f"{name}-bucket",
            bucket=bucket.bucket,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-bucket",
            bucket=bucket.bucket,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-bucket",
            bucket=bucket.bucket,
            rules=[
                {
                    "id": "sweep-staged-files",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "expiration": {"days": args.expiry_days},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
                }
            ],
            opts=child,
        )
        self.bucket_name = bucket.bucket
        self.register_outputs({"bucket_name": self.bucket_name})
