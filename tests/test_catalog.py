"""The accelerator catalogue and the naming/tag rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlfabric.components import catalog, naming
from mlfabric.components.kit import kit_for

REQUIRED = ("t4", "l4", "a10g", "a100-40gb", "a100-80gb", "h100-80gb")


def test_catalogue_lists_every_required_accelerator_somewhere() -> None:
    offered = {s.accelerator for s in catalog.GPU_SHAPES}
    assert set(REQUIRED) <= offered <= set(catalog.ACCELERATORS)


@pytest.mark.parametrize("shape", catalog.GPU_SHAPES, ids=lambda s: f"{s.cloud}-{s.machine}")
def test_every_shape_has_sane_figures(shape: catalog.GpuShape) -> None:
    assert shape.gpus in (1, 2, 4, 8)
    assert shape.vcpus >= 4 and shape.memory_gib >= 15
    assert 0.1 < shape.usd_per_hour < 200
    # price per GPU-hour is in the range of public list prices, catching a misplaced decimal point
    assert 0.2 < shape.usd_per_hour / shape.gpus < 15


def test_each_cloud_has_a_price_source_with_a_date() -> None:
    for cloud in catalog.CLOUDS:
        source = catalog.PRICE_SOURCES[cloud]
        assert source.url.startswith("https://") and len(source.as_of) == 7


def test_no_shape_is_listed_twice() -> None:
    keys = [(s.cloud, s.accelerator, s.gpus) for s in catalog.GPU_SHAPES]
    assert len(keys) == len(set(keys))


def test_smallest_shape_is_the_default() -> None:
    assert catalog.gpu_shape("aws", "l4").machine == "g6.xlarge"
    assert catalog.gpu_shape("gcp", "a100-80gb", 8).machine == "a2-ultragpu-8g"
    assert catalog.gpu_shape("azure", "h100-80gb", 8).machine == "Standard_ND96isr_H100_v5"


def test_unoffered_accelerator_lists_what_the_cloud_offers() -> None:
    with pytest.raises(catalog.CatalogError, match=r"'l4' is not offered on azure \(offered: t4, a100-40gb, a100-80gb, h100-80gb\)"):
        catalog.gpu_shape("azure", "l4")


def test_unsold_gpu_count_lists_the_sizes() -> None:
    with pytest.raises(catalog.CatalogError, match=r"t4 on gcp comes in nodes of 1, 2, 4 GPUs \(got 8\)"):
        catalog.gpu_shape("gcp", "t4", 8)


def test_default_system_machines_are_in_the_catalogue() -> None:
    for cloud, machine in catalog.DEFAULT_SYSTEM_MACHINE.items():
        assert catalog.cpu_machine(cloud, machine) is not None


def test_identity_tags_win_over_resource_and_global_tags() -> None:
    merged = naming.merge_tags({"team": "a", "managed-by": "x"}, {"team": "b"}, naming.identity_tags("fraud", "dev"))
    assert merged == {"team": "b", "managed-by": "mlfabric", "mlfabric-platform": "fraud", "mlfabric-environment": "dev"}


def test_gcp_labels_are_lowercased_and_revalidated_after_the_merge() -> None:
    gcp = kit_for("gcp").render_tags
    assert gcp({"Team": "Risk-ML"}) == {"team": "risk-ml"}
    with pytest.raises(naming.NamingError, match=r"tags.team: not a valid GCP label value once lowercased \(got 'a b'\)"):
        gcp({"team": "a b"})
    with pytest.raises(naming.NamingError, match="collides"):
        gcp({"Team": "a", "team": "b"})


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_aws_and_azure_tags_are_rendered_as_given(cloud: str) -> None:
    assert kit_for(cloud).render_tags({"Team": "Risk ML"}) == {"Team": "Risk ML"}


@given(st.lists(st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=30), min_size=1, max_size=4))
def test_compact_names_are_stable_short_and_alphanumeric(parts: list[str]) -> None:
    name = naming.compact_name(*parts, max_length=24)
    assert name == naming.compact_name(*parts, max_length=24)
    assert len(name) <= 24 and name.isalnum() and name == name.lower()
