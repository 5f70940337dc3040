"""The offline plan answers every output the provider SDKs declare, in each cloud's formats, and fails
loudly when it cannot.

Which outputs a resource type computes is derived from the installed provider SDK (its class's
getters minus its ``Args``); each cloud's fakes only format ids, names, ARNs and the few values that
need a real shape. What these tests cannot prove: that a real provider computes the same values —
only that every output a component can read has an answer shaped like the real one, and that a gap
stops the plan instead of dropping an input.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from mlfabric.components.aws import fakes as aws_fakes
from mlfabric.components.derived_outputs import schema_of
from mlfabric.components.fakes import Registration
from mlfabric.components.kubernetes.fakes import is_custom_resource
from mlfabric.mocks import FAKES
from mlfabric.testing import UnknownOutputError, World, only, run, run_program

ROOT = Path(__file__).resolve().parents[1]
STACKS = ("dev", "prod", "gcp-dev", "gcp-prod", "azure-dev", "azure-prod")
WORLD = World(project="mlfabric", stack="test", region="us-east-1")


def answer(typ: str, name: str, inputs: dict[str, Any], world: World = WORLD) -> dict[str, Any]:
    """What the offline plan's mocks answer for one registration (the cloud's ``outputs``)."""
    module = __import__(FAKES[typ.split(":", 1)[0]], fromlist=["outputs"])
    result: dict[str, Any] = module.outputs(typ, name, inputs, world)
    return result


def test_the_schema_of_a_type_is_its_sdk_outputs_and_inputs() -> None:
    schema = schema_of("aws:s3/bucket:Bucket")
    assert schema is not None
    assert {"arn", "bucketDomainName", "bucketRegionalDomainName", "tagsAll"} <= schema.computed
    assert "bucket" in schema.inputs and "bucket" in schema.outputs and "bucket" not in schema.computed


def test_an_api_versioned_azure_token_has_the_default_tokens_schema() -> None:
    versioned, default = schema_of("azure-native:storage/v20230101:StorageAccount"), schema_of("azure-native:storage:StorageAccount")
    assert versioned is not None and default is not None and versioned.outputs == default.outputs


def test_a_type_no_installed_sdk_declares_has_no_schema() -> None:
    assert schema_of("aws:widgets/widget:Widget") is None
    assert schema_of("random:index/randomId:RandomId") is None


@pytest.mark.parametrize("stack", STACKS)
def test_every_computed_output_of_every_example_stack_resource_is_answered(stack: str) -> None:
    baseline = json.loads((ROOT / "tests" / "baselines" / f"{stack}.json").read_text())
    checked = 0
    for urn, resource in baseline["resources"].items():
        typ = resource["type"]
        if typ.split(":", 1)[0] not in FAKES:
            continue
        schema = schema_of(typ)
        if schema is None and is_custom_resource(typ):
            # A CRD kind (Kueue's): the API server stores the inputs and fills in metadata.
            assert answer(typ, urn.rsplit("::", 1)[-1], resource["inputs"])["metadata"]["name"], typ
            continue
        assert schema is not None, typ
        answered = answer(typ, urn.rsplit("::", 1)[-1], resource["inputs"])
        missing = schema.computed - answered.keys()
        assert not missing, f"{typ}: no answer for computed outputs {sorted(missing)}"
        checked += 1
    assert checked > 50


def test_an_input_built_from_an_output_no_fake_types_by_hand_is_not_dropped() -> None:
    def program() -> None:
        secret = aws.secretsmanager.Secret("s")
        aws.secretsmanager.SecretPolicy("p", secret_arn=secret.arn, policy="{}")
        cluster = aws.eks.Cluster("c", role_arn="arn:aws:iam::123456789012:role/c",
                                  vpc_config=aws.eks.ClusterVpcConfigArgs(subnet_ids=["subnet-1"]))
        pulumi.export("status", cluster.status)
        pulumi.export("created", cluster.created_at)

    result = run(program)
    policy = result.only("aws:secretsmanager/secretPolicy:SecretPolicy")
    assert str(policy.inputs["secretArn"]).startswith("arn:aws:secretsmanager:us-east-1:123456789012:")
    assert result.outputs == {"status": "ACTIVE", "created": "2024-01-01T00:00:00Z"}


def test_read_only_fields_inside_an_input_object_are_answered() -> None:
    from pulumi_azure_native import keyvault

    def program() -> None:
        vault = keyvault.Vault("kv", resource_group_name="rg", properties=keyvault.VaultPropertiesArgs(
            tenant_id="t", sku=keyvault.SkuArgs(family="A", name=keyvault.SkuName.STANDARD)))
        pulumi.export("uri", vault.properties.vault_uri)
        pulumi.export("state", vault.properties.provisioning_state)
        pulumi.export("connections", vault.properties.private_endpoint_connections)

    outputs = run(program, region="westeurope").outputs
    assert str(outputs["uri"]).startswith("https://kv") and str(outputs["uri"]).endswith(".vault.azure.net/")
    assert outputs["state"] == "Succeeded"
    assert outputs["connections"] == []


def test_a_resource_type_no_sdk_declares_fails_the_plan_naming_it() -> None:
    def program() -> None:
        pulumi.CustomResource("aws:widgets/widget:Widget", "w", {"size": 1, "widgetArn": None})

    with pytest.raises(UnknownOutputError, match=r"'w' of type 'aws:widgets/widget:Widget'.*no installed provider SDK"):
        run_program(program)


def test_a_package_without_fakes_fails_the_plan_naming_the_type() -> None:
    def program() -> None:
        pulumi.CustomResource("random:index/randomId:RandomId", "r", {"byteLength": 8, "hex": None})

    with pytest.raises(UnknownOutputError, match=r"random:index/randomId:RandomId.*no fakes for the 'random' package"):
        run_program(program)


def test_a_fake_answering_an_output_the_sdk_does_not_declare_fails_naming_type_and_property(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(aws_fakes._SPECIAL, "aws:kms/key:Key", lambda _: {"keyArn": "arn:aws:kms:x"})
    with pytest.raises(UnknownOutputError, match=r"output 'keyArn' of 'aws:kms/key:Key'.*does not declare"):
        run_program(lambda: aws.kms.Key("k"))


def test_a_fake_answering_a_nested_field_the_sdk_does_not_declare_fails_naming_its_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(aws_fakes._SPECIAL, "aws:eks/cluster:Cluster",
                        lambda _: {"certificateAuthority": {"pem": "x"}})
    with pytest.raises(UnknownOutputError, match=r"'certificateAuthority\.pem' of 'aws:eks/cluster:Cluster'"):
        answer("aws:eks/cluster:Cluster", "c", {"roleArn": "r", "vpcConfig": {}})


def test_a_fake_may_say_the_provider_returns_nothing() -> None:
    public = answer("azure-native:containerservice:ManagedCluster", "aks",
                    {"resourceName": "aks-x", "resourceGroupName": "rg", "apiServerAccessProfile": {}})
    private = answer("azure-native:containerservice:ManagedCluster", "aks",
                     {"resourceName": "aks-x", "resourceGroupName": "rg",
                      "apiServerAccessProfile": {"enablePrivateCluster": True}})
    assert public["privateFQDN"] is None
    assert str(private["privateFQDN"]).endswith(".privatelink.us-east-1.azmk8s.io")


@pytest.mark.parametrize(
    ("typ", "inputs", "expected_id", "formatted"),
    [
        ("aws:ec2/vpc:Vpc", {"cidrBlock": "10.0.0.0/16"}, r"vpc-[0-9a-f]{17}", {"ownerId": "123456789012"}),
        ("aws:s3/bucket:Bucket", {"bucket": "b1"}, "b1", {"arn": "arn:aws:s3:::b1"}),
        ("aws:iam/role:Role", {"name": "r1", "assumeRolePolicy": "{}"}, "r1",
         {"arn": "arn:aws:iam::123456789012:role/r1"}),
        ("gcp:kms/keyRing:KeyRing", {"name": "k", "location": "us-central1", "project": "p"},
         "projects/p/locations/us-central1/keyRings/k", {}),
        ("gcp:storage/bucket:Bucket", {"name": "b", "location": "US"}, "b",
         {"url": "gs://b", "selfLink": "https://www.googleapis.com/storage/v1/b/b", "project": "mlfabric-offline"}),
        ("azure-native:storage:StorageAccount", {"accountName": "st1", "resourceGroupName": "rg"},
         "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Storage"
         "/storageAccounts/st1", {"type": "Microsoft.Storage/storageAccounts", "name": "st1"}),
        ("azure-native:storage:BlobContainer", {"accountName": "st1", "resourceGroupName": "rg", "containerName": "c"},
         "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Storage"
         "/storageAccounts/st1/blobServices/default/containers/c",
         {"type": "Microsoft.Storage/storageAccounts/blobServices/containers"}),
        ("kubernetes:core/v1:ServiceAccount", {"metadata": {"name": "sa", "namespace": "ml"}}, "ml/sa", {}),
    ],
)
def test_each_cloud_formats_ids_and_shared_outputs_like_the_cloud(
    typ: str, inputs: dict[str, Any], expected_id: str, formatted: dict[str, Any]
) -> None:
    answered = answer(typ, "x", inputs)
    assert re.fullmatch(expected_id, str(answered["__id"])), answered["__id"]
    assert {k: answered[k] for k in formatted} == formatted


def test_a_cloud_rule_answers_a_property_by_its_name_or_its_suffix() -> None:
    r = Registration("aws:cloudwatch/dashboard:Dashboard", "x", {}, WORLD, physical="d")
    owner, arn = aws_fakes.STYLE.rule("ownerId"), aws_fakes.STYLE.rule("dashboardArn")
    assert owner is not None and owner(r, "ownerId") == "123456789012"
    assert arn is not None and arn(r, "dashboardArn") == "arn:aws:cloudwatch::123456789012:dashboard/d"
    assert aws_fakes.STYLE.rule("somethingElse") is None


def test_deriving_aws_outputs_loads_no_other_clouds_sdk() -> None:
    script = (
        "import sys; from mlfabric.components.aws.fakes import outputs; from mlfabric.components.fakes import World; "
        "import pulumi_aws; w = World('p', 's', 'us-east-1'); "
        "[outputs(t, 'x', {}, w) for t in ('aws:s3/bucket:Bucket', 'aws:eks/cluster:Cluster', 'aws:ec2/vpc:Vpc')]; "
        "print(sorted(m for m in sys.modules if m.startswith(('pulumi_gcp', 'pulumi_azure_native'))))"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout == "[]\n"


def test_the_testing_helper_runs_components_and_finds_their_records() -> None:
    records = run_program(lambda: aws.s3.Bucket("b", bucket="my-bucket"))
    bucket = only(records, "aws:s3/bucket:Bucket", "b")
    assert bucket.inputs["bucket"] == "my-bucket" and bucket.id == "my-bucket"
    with pytest.raises(AssertionError, match="expected one aws:kms/key:Key"):
        only(records, "aws:kms/key:Key")
