"""The ECR repository the pipeline pushes the shop's image to and the hosts pull from."""

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config import RegistrySettings
from infra.tags import resource_tags


@dataclass
class RegistryArgs:
    settings: RegistrySettings
    tags: Mapping[str, str]


def lifecycle_policy(settings: RegistrySettings) -> str:
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": "Expire untagged layers of superseded builds",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": settings.untagged_expiry_days,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "description": "Keep the newest releases for rollbacks",
                    "selection": {
                        "tagStatus": "any",
                        "countType": "imageCountMoreThan",
                        "countNumber": settings.keep_images,
                    },
                    "action": {"type": "expire"},
                },
            ]
        }
    )


class Registry(pulumi.ComponentResource):
    repository_url: pulumi.Output[str]
    repository_arn: pulumi.Output[str]

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("shopstack:registry:Registry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        repository = aws.ecr.Repository(
            f"{name}-app",
            name=f"{name}/app",
            # Images are tagged with the commit they were built from; a tag never moves.
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[{"encryption_type": "AES256"}],
            force_delete=args.settings.force_delete,
            tags=resource_tags(args.tags, f"{name}-app"),
            opts=child,
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-app",
            repository=repository.name,
            policy=lifecycle_policy(args.settings),
            opts=child,
        )
        self.repository_url = repository.repository_url
        self.repository_arn = repository.arn
        self.register_outputs({"repository_url": self.repository_url, "repository_arn": self.repository_arn})
