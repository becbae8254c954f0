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


def private_bucket(
    name: str, force_destroy: bool, tags: Mapping[str, str], opts: pulumi.ResourceOptions
) -> aws.s3.Bucket:
    """An S3 bucket only its account's principals reach: encrypted, public access blocked, ACLs off."""
    bucket = aws.s3.Bucket(name, force_destroy=force_destroy, tags=resource_tags(tags, name), opts=opts)
    aws.s3.BucketServerSideEncryptionConfiguration(
        name,
        bucket=bucket.bucket,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
        opts=opts,
    )
    aws.s3.BucketPublicAccessBlock(
        name,
        bucket=bucket.bucket,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    aws.s3.BucketOwnershipControls(
        name,
        bucket=bucket.bucket,
        rule={"object_ownership": "BucketOwnerEnforced"},
        opts=opts,
    )
    return bucket


class TransferBucket(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]

    def __init__(self, name: str, args: TransferBucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("shopstack:access:TransferBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        bucket = private_bucket(f"{name}-bucket", args.force_destroy, args.tags, child)
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
