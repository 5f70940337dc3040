"""Registries on GCP: Artifact Registry Docker repositories, and what Vertex AI Model Registry allows
to be declared.

Creates, when the spec lists repositories or models:

- ``gcp:projects/service:Service`` for the APIs used (Artifact Registry; Container Scanning when
  ``scan_on_push``; Vertex AI when models are listed; Cloud KMS), left on at destroy;
- the registry's own key (``gcp:kms/keyRing:KeyRing`` + ``gcp:kms/cryptoKey:CryptoKey``, rotated
  every ``storage.key_rotation_days``) and, per service that encrypts with it, the service agent
  (``gcp:projects/serviceIdentity:ServiceIdentity``: GCP creates these agents lazily, so they are
  created before the grant) and a ``gcp:kms/cryptoKeyIAMMember`` letting it use the key;
- per repository a ``gcp:artifactregistry/repository:Repository`` ``<platform>-<environment>-<repo>``
  in the platform region: Docker format, CMEK with the registry key (settable only at creation),
  immutable tags unless the spec allows overwriting, vulnerability scanning (``INHERITED``: the
  Container Scanning API enabled here scans every push; ``DISABLED`` when ``scan_on_push`` is off), a
  cleanup policy deleting untagged images ``untagged_image_retention_days`` after upload (not a dry
  run). Repositories are stateful: protected and retained when the spec asks for deletion protection.
  A repository's push/pull address (``registry_urls``) names one image inside it, called like the
  repository: ``<region>-docker.pkg.dev/<project>/<platform>-<environment>-<repo>/<repo>``, so
  ``<address>:<tag>`` is a complete image reference as on ECR.

Model registry — what is and is not declarable: Vertex AI Model Registry has no model resource in
pulumi-gcp (nor in the Google Terraform provider). A model and its versions come into being when a
pipeline uploads one (``gcloud ai models upload --region R --model-id <id>
--encryption-kms-key-name <key>``, later versions with ``--parent-model``), so a model cannot be
created, protected or labelled here. Declared instead: the Vertex AI API, the key and the Vertex AI
service agent's grant on it (uploads must name the key: Vertex has no per-project CMEK default), and
the model ids are reserved by naming (``<platform>-<environment>-<model>``): ``model_registry_ids``
holds the resource names the models will have after their first upload
(``projects/<project>/locations/<region>/models/<id>``), which RBAC and pipelines use.
``model_encryption_key`` (not part of the cross-cloud outputs) is the key uploads must name.

A renamed repository or model (``registry.renamed_from``) keeps its identity: the repository's
logical name's previous forms are aliases, and repository and model ids derive from the first name.
"""

from __future__ import annotations

from typing import Final

import pulumi
import pulumi_gcp as gcp

from mlfabric.components import naming
from mlfabric.components.concerns import RegistryOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.gcp.common import (
    KMS_API,
    agent_key_user,
    concern_key,
    days,
    dict_output,
    enable_apis,
    project_id,
)
from mlfabric.components.spec import RegistrySpec

ARTIFACT_REGISTRY_API: Final = "artifactregistry.googleapis.com"
CONTAINER_SCANNING_API: Final = "containerscanning.googleapis.com"
VERTEX_API: Final = "aiplatform.googleapis.com"
# The services that encrypt with the registry key, each through its own service agent.
_KEY_USERS: Final = (ARTIFACT_REGISTRY_API, VERTEX_API)


def repository_id(base_name: str, repository: str) -> str:
    """Artifact Registry repository id (at most 53 of the 63 characters allowed)."""
    return f"{base_name}-{repository}"


def model_id(base_name: str, model: str) -> str:
    """The Vertex AI model id a model is uploaded under (at most 53 of the 63 characters allowed)."""
    return f"{base_name}-{model}"


def _apis(spec: RegistrySpec) -> list[str]:
    """The APIs the spec's repositories and models use."""
    services = [KMS_API]
    if spec.repositories:
        services.append(ARTIFACT_REGISTRY_API)
        if spec.scan_on_push:
            services.append(CONTAINER_SCANNING_API)
    if spec.models:
        services.append(VERTEX_API)
    return services


class GcpRegistry(RegistryOutputs):
    """CMEK-encrypted, scanned Artifact Registry repositories; Vertex AI model ids and their key."""

    type_token = "mlfabric:registry:GcpRegistry"

    def __init__(self, name: str, spec: RegistrySpec, ctx: PlatformContext,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, spec, ctx, opts)
        # Static (known at declaration): what per-repository IAM in other concerns is declared from.
        # Physical ids derive from an item's first name: a repository or model id cannot change.
        first = {item: naming.original_name(item, spec.renamed_from.get(item, []))
                 for item in [*spec.repositories, *spec.models]}
        self.repository_ids: dict[str, str] = {r: repository_id(ctx.base_name, first[r]) for r in spec.repositories}
        self.model_ids: dict[str, str] = {m: model_id(ctx.base_name, first[m]) for m in spec.models}
        self.model_encryption_key: pulumi.Output[str] = pulumi.Output.from_input("")
        repositories = self._declare() if spec.repositories or spec.models else {}

        project = project_id(ctx, self)
        # An Artifact Registry repository holds images: the push/pull address names one, after the repository.
        self.registry_urls = dict_output(
            {k: pulumi.Output.concat(r.registry_uri, "/", k) for k, r in repositories.items()}
        )
        self.model_registry_ids = (
            project.apply(
                lambda p: {m: f"projects/{p}/locations/{ctx.region}/models/{i}" for m, i in self.model_ids.items()}
            )
            if self.model_ids
            else pulumi.Output.from_input({})
        )
        self.register_contract()

    def _declare(self) -> dict[str, gcp.artifactregistry.Repository]:
        """The APIs, the registry key and its users, and the repositories."""
        name, spec, ctx = self._name, self._spec, self._ctx
        apis = enable_apis(name, ctx, self, *_apis(spec))
        key = concern_key(name, "registry", ctx, self, apis[KMS_API]).key
        users = {
            service: agent_key_user(name, "registry", service, key.id, ctx, self, apis[service])
            for service in _KEY_USERS
            if service in apis
        }
        if spec.models:
            self.model_encryption_key = key.id
        return {
            repository: self._repository(repository, key, [*apis.values(), users[ARTIFACT_REGISTRY_API]])
            for repository in spec.repositories
        }

    def _repository(
        self, repository: str, key: gcp.kms.CryptoKey, after: list[pulumi.Resource]
    ) -> gcp.artifactregistry.Repository:
        name, spec, ctx = self._name, self._spec, self._ctx
        logical = f"{name}-repo-{repository}"
        aliases = naming.rename_aliases(logical, repository, spec.renamed_from.get(repository, []))
        return gcp.artifactregistry.Repository(
            logical,
            project=ctx.account,
            location=ctx.region,
            repository_id=self.repository_ids[repository],
            format="DOCKER",
            description=f"mlfabric {ctx.base_name}: {repository} images",
            kms_key_name=key.id,
            docker_config=gcp.artifactregistry.RepositoryDockerConfigArgs(immutable_tags=spec.immutable_tags),
            vulnerability_scanning_config=gcp.artifactregistry.RepositoryVulnerabilityScanningConfigArgs(
                enablement_config="INHERITED" if spec.scan_on_push else "DISABLED",
            ),
            cleanup_policy_dry_run=False,
            cleanup_policies=[
                gcp.artifactregistry.RepositoryCleanupPolicyArgs(
                    id="delete-untagged",
                    action="DELETE",
                    condition=gcp.artifactregistry.RepositoryCleanupPolicyConditionArgs(
                        tag_state="UNTAGGED", older_than=days(spec.untagged_image_retention_days)
                    ),
                )
            ],
            labels=ctx.tags({"mlfabric-repository": repository}),
            # The service agent must hold the key before the repository is created with it.
            opts=ctx.stateful(self, depends_on=after, aliases=aliases or None),
        )
