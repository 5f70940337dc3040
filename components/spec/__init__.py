"""The one typed config: pydantic v2 models of an mlfabric platform spec.

A spec lives in a Pulumi stack file under the config key ``mlfabric:platform``. It is parsed once,
at the edge (``mlfabric.components.program``), and every component receives the typed section it needs.

Environment-dependent defaults (prod protects and versions, dev scales to zero and uses spot) are
declared next to each field with :func:`env_default` and filled in before validation, so the
JSON Schema shows them (``x-environment-defaults``) and a model's value never depends on code
elsewhere. Errors come out as one line per problem: ``path.to.field: what is wrong (got X)``.

One module per section (``network``, ``storage``, ``training``, ``teams``, ``registry``, ``serving``,
``monitoring``, ``rbac``), the root and its cross-section checks in ``platform``,
what they are all made of in ``base``. Import from this package, not from the modules.

The rules here hold on every cloud. What only one cloud refuses (EKS's two zones, SageMaker's
limits, CloudWatch's retention periods, GCP label values, Log Analytics' retention, the shape of a
principal) lives in that cloud's home, ``components/<cloud>/spec_rules.py``, and is checked through
its kit after the cloud-neutral rules, so a spec's problems list those last.
"""

from mlfabric.components.spec.base import (
    ACCESS_LOG_BUCKET,
    ENV_DEFAULTS_KEY,
    ENVIRONMENTS,
    RESERVED_TAG_KEYS,
    SCHEMA_ID,
    SPEC_CONFIG_KEY,
    Environment,
    Persona,
    Problems,
    SpecError,
    SpecProblem,
    env_default,
)
from mlfabric.components.spec.budget import BudgetSpec
from mlfabric.components.spec.lifecycle import (
    BatchJobSpec,
    BatchSpec,
    DriftSpec,
    EndpointMonitoringSpec,
    NotebooksSpec,
    TrackingSpec,
)
from mlfabric.components.spec.monitoring import MonitoringSpec
from mlfabric.components.spec.network import NetworkSpec
from mlfabric.components.spec.options import AwsOptions, AzureOptions, GcpOptions
from mlfabric.components.spec.parse import format_errors, json_schema, parse_spec
from mlfabric.components.spec.platform import (
    PlatformSpec,
    image_reference_problem,
    image_repository,
    principal_problems,
    spec_notes,
    tag_key_problem,
)
from mlfabric.components.spec.rbac import (
    ACCESS_TEMPLATES,
    BUILT_IN_PERSONAS,
    AccessLevel,
    CustomPersonaSpec,
    PersonaGrant,
    PrincipalsByCloud,
    RbacSpec,
    Template,
)
from mlfabric.components.spec.registry import RegistrySpec
from mlfabric.components.spec.serving import EndpointSpec, ServingSpec, TrafficSpec, VariantSpec
from mlfabric.components.spec.storage import BucketSpec, StorageSpec
from mlfabric.components.spec.teams import GpuQuotaSpec, TeamMember, TeamSpec, team_members
from mlfabric.components.spec.training import ClusterSpec, GpuPoolSpec, SharedFsSpec, SystemPoolSpec, TrainingSpec

__all__ = [
    "ACCESS_LOG_BUCKET",
    "ACCESS_TEMPLATES",
    "BUILT_IN_PERSONAS",
    "ENVIRONMENTS",
    "ENV_DEFAULTS_KEY",
    "RESERVED_TAG_KEYS",
    "SCHEMA_ID",
    "SPEC_CONFIG_KEY",
    "AccessLevel",
    "AwsOptions",
    "AzureOptions",
    "BatchJobSpec",
    "BatchSpec",
    "BucketSpec",
    "BudgetSpec",
    "ClusterSpec",
    "CustomPersonaSpec",
    "DriftSpec",
    "EndpointMonitoringSpec",
    "EndpointSpec",
    "Environment",
    "GcpOptions",
    "GpuPoolSpec",
    "GpuQuotaSpec",
    "MonitoringSpec",
    "NetworkSpec",
    "NotebooksSpec",
    "Persona",
    "PersonaGrant",
    "PlatformSpec",
    "PrincipalsByCloud",
    "Problems",
    "RbacSpec",
    "RegistrySpec",
    "ServingSpec",
    "SharedFsSpec",
    "SpecError",
    "SpecProblem",
    "StorageSpec",
    "SystemPoolSpec",
    "TeamMember",
    "TeamSpec",
    "Template",
    "TrackingSpec",
    "TrafficSpec",
    "TrainingSpec",
    "VariantSpec",
    "env_default",
    "format_errors",
    "image_reference_problem",
    "image_repository",
    "json_schema",
    "parse_spec",
    "principal_problems",
    "spec_notes",
    "tag_key_problem",
    "team_members",
]
