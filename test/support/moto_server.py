"""moto_server, with CloudFormation support for AWS::CodeBuild::Project, and custom resources
left to the caller.

moto 5.2 implements the CodeBuild API (CreateProject, BatchGetProjects, StartBuild) but not the
CloudFormation resource, so a stack holding a project fails there on the first Fn::GetAtt of it
("references undefined resource"), though AWS creates it. This registers the resource type over
moto's own CodeBuild backend, as moto does for the types it supports, and starts moto_server
with the same arguments.

moto also invokes a custom resource's function in Docker, which this machine lacks. The attempt
only creates the function's log group ahead of the stack's own LogGroup resource (moto creates a
resource early when a GetAtt reaches it, whatever its DependsOn), so the stack fails with "log
group already exists". Here the invocation is not attempted: the custom resource waits, as on
AWS, for a response PUT to its ResponseURL, which the caller sends (test/aws/deploy.test.ts plays
CodeBuild's part). Neither change adds behaviour of infera's; each fills an emulator gap:

    python3 test/support/moto_server.py -H 127.0.0.1 -p 5000
"""

import sys
from typing import Any

import moto.cloudformation.custom_model as custom_model
from moto.codebuild.models import codebuild_backends
from moto.core.common_models import CloudFormationModel
from moto.server import main


class CloudFormationCodeBuildProject(CloudFormationModel):
    # moto's model registry files a model under the service its module names.
    __module__ = "moto.codebuild.cloudformation"

    def __init__(self, account_id: str, region_name: str, name: str, metadata: dict[str, Any]):
        self.account_id = account_id
        self.region_name = region_name
        self.name = name
        self.metadata = metadata

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CodeBuild::Project"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> "CloudFormationCodeBuildProject":
        p = cloudformation_json.get("Properties", {})
        # moto generates names from the logical id; CodeBuild allows 2-255 of [A-Za-z0-9_-].
        name = p.get("Name") or resource_name[-255:]
        env = p.get("Environment", {})
        source = p.get("Source", {})
        metadata = codebuild_backends[account_id][region_name].create_project(
            project_name=name,
            description=p.get("Description"),
            project_source={"type": source.get("Type", "NO_SOURCE"), "buildspec": source.get("BuildSpec")},
            artifacts={"type": p.get("Artifacts", {}).get("Type", "NO_ARTIFACTS")},
            environment={
                "type": env.get("Type"),
                "image": env.get("Image"),
                "computeType": env.get("ComputeType"),
                "privilegedMode": env.get("PrivilegedMode", False),
            },
            service_role=p.get("ServiceRole"),
            tags=None,
            cache=None,
            timeout=p.get("TimeoutInMinutes"),
            queued_timeout=p.get("QueuedTimeoutInMinutes"),
            source_version=None,
            logs_config=None,
            vpc_config=None,
        )
        return cls(account_id, region_name, name, metadata)

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Arn":
            return self.metadata["arn"]
        raise NotImplementedError(attribute_name)


class _CallerAnswers:
    """Stands in for the thread moto would start to invoke the function: it starts nothing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def start(self) -> None:
        pass


class _Threading:
    Thread = _CallerAnswers


custom_model.threading = _Threading  # type: ignore[assignment]


if __name__ == "__main__":
    main(sys.argv[1:])
