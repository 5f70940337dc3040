"""GCP network: a custom-mode VPC with one regional subnet for the training cluster, Cloud NAT and a
minimal firewall; plus the building blocks every GCP concern shares (APIs, service agents, keys).

Creates, for a new network (``network.existing_network_id`` omitted):

- ``gcp:projects/service:Service`` for the Compute Engine API (left enabled on destroy: other
  concerns and other stacks use it);
- ``gcp:compute/network:Network`` in custom mode (no auto-created subnets), regional routing;
- one ``gcp:compute/subnetwork:Subnetwork`` in the platform region carved from ``network.cidr``:
  the primary range holds the nodes (and Cloud Run's direct VPC egress), secondary ranges ``pods``
  and ``services`` hold GKE's alias IPs (``subnet_ranges``). Private Google Access is on, so nodes
  without external addresses reach Google APIs; with ``network.flow_logs`` the subnet records VPC
  flow logs;
- a ``gcp:compute/router:Router`` and a ``gcp:compute/routerNat:RouterNat`` for the subnet's egress
  (all its ranges), logging translation errors;
- two ``gcp:compute/firewall:Firewall`` rules: node and pod ranges may reach each other (tcp, udp,
  icmp), and an explicit lowest-priority deny of all other ingress, logged when ``flow_logs`` is on.
  GKE adds the rules its control plane needs (kubelet, webhooks) itself; nothing is opened to the
  internet.

Reusing a network (``network.existing_network_id``, a network id ``projects/P/global/networks/N``
or a bare name) creates nothing: the network is read with ``getNetwork``, and the subnet with
``getSubnetwork``; it must be named ``<platform>-<environment>``, live in the platform region and
carry the secondary ranges ``pods`` and ``services`` (the convention this module creates).

GCP has no counterpart of some AWS knobs: Cloud NAT is a regional, zone-redundant managed service,
so ``nat_gateways: per-zone`` changes nothing; a GCP subnet is regional and spans every zone, so
``availability_zones`` does not apply (the cluster component places nodes: three zones outside dev). ``private_endpoints``:
Private Google Access is always on; Private Service Connect endpoints for Google APIs (and their
DNS zones) are not declared.

The second half of the module holds helpers the other GCP concerns share: enabling APIs, naming a
Google service agent, a customer-managed key per concern, service account ids within 30 characters.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Final

import pulumi
import pulumi_gcp as gcp

from mlfabric.components import naming
from mlfabric.components.context import PlatformContext
from mlfabric.components.spec import NetworkSpec

COMPUTE_API: Final = "compute.googleapis.com"
KMS_API: Final = "cloudkms.googleapis.com"
# Secondary ranges of the platform subnet, named the same in every stack (GKE refers to them by name).
PODS_RANGE: Final = "pods"
SERVICES_RANGE: Final = "services"
# Pods per node GKE reserves addresses for: each node takes a /25 of the pods range (64 pods need
# 128 addresses), so a /17 pods range holds 256 nodes and the smallest (/21, from a /20) 16.
MAX_PODS_PER_NODE: Final = 64
# Flow logs: 5-second aggregation, half the flows sampled, all metadata (the GCP defaults are
# coarser and drop metadata).
_FLOW_LOG_INTERVAL: Final = "INTERVAL_5_SEC"
_FLOW_LOG_SAMPLING: Final = 0.5
_DENY_PRIORITY: Final = 65534


def subnet_ranges(cidr: str) -> tuple[str, str, str]:
    """(nodes, pods, services) ranges carved from ``cidr`` without overlap.

    Pods take the first half (GKE gives each node a block of them), nodes the next quarter, services
    a sixteenth after that; the rest stays free. A /16 gives pods /17, nodes /18, services /20.
    """
    network = ipaddress.IPv4Network(cidr)
    first_half, second_half = network.subnets(prefixlen_diff=1)
    nodes, rest = second_half.subnets(prefixlen_diff=1)
    services = next(rest.subnets(prefixlen_diff=2))
    return str(nodes), str(first_half), str(services)


def _network_reference(existing: str, project: str | None) -> tuple[str, str | None]:
    """(name, project) of an existing network given by id, self link or bare name."""
    parts = existing.rstrip("/").split("/")
    if "networks" in parts and "projects" in parts:
        return parts[parts.index("networks") + 1], parts[parts.index("projects") + 1]
    return parts[-1], project


class GcpNetwork(pulumi.ComponentResource):
    """Custom-mode VPC, one regional subnet with GKE secondary ranges, Cloud NAT, minimal firewall."""

    network_id: pulumi.Output[str]
    private_subnet_ids: pulumi.Output[list[str]]
    public_subnet_ids: pulumi.Output[list[str]]

    def __init__(
        self,
        name: str,
        spec: NetworkSpec,
        ctx: PlatformContext,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlfabric:network:GcpNetwork", name, None, opts)
        self._name = name
        self._spec = spec
        self._ctx = ctx

        if spec.existing_network_id is not None:
            self._reuse(spec.existing_network_id)
        else:
            self._create()
        # GCP subnets are private by construction (no public IPs on nodes); there is no public tier.
        self.public_subnet_ids = pulumi.Output.from_input([])
        self.register_outputs(
            {
                "network_id": self.network_id,
                "private_subnet_ids": self.private_subnet_ids,
                "public_subnet_ids": self.public_subnet_ids,
            }
        )

    def _reuse(self, existing: str) -> None:
        ctx = self._ctx
        invoke = pulumi.InvokeOutputOptions(parent=self)
        network_name, project = _network_reference(existing, ctx.account)
        network = gcp.compute.get_network_output(name=network_name, project=project, opts=invoke)
        subnet = gcp.compute.get_subnetwork_output(
            name=ctx.base_name, region=ctx.region, project=project, opts=invoke
        )
        self.network_id = network.id
        self.private_subnet_ids = subnet.id.apply(lambda subnet_id: [subnet_id])

    def _create(self) -> None:
        name, spec, ctx = self._name, self._spec, self._ctx
        project = ctx.account
        apis = enable_apis(name, ctx, self, COMPUTE_API)
        after_api = pulumi.ResourceOptions(parent=self, depends_on=list(apis.values()))
        child = pulumi.ResourceOptions(parent=self)

        network = gcp.compute.Network(
            name,
            project=project,
            description=f"mlfabric {ctx.base_name}: platform network",
            auto_create_subnetworks=False,
            routing_mode="REGIONAL",
            opts=after_api,
        )
        nodes, pods, services = subnet_ranges(spec.cidr)
        subnet = gcp.compute.Subnetwork(
            name,
            project=project,
            region=ctx.region,
            network=network.id,
            description=f"mlfabric {ctx.base_name}: nodes, pods and services of the platform",
            ip_cidr_range=nodes,
            secondary_ip_ranges=[
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=PODS_RANGE, ip_cidr_range=pods),
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=SERVICES_RANGE, ip_cidr_range=services),
            ],
            # Nodes have no external addresses: Google APIs (GCS, Artifact Registry) over Google's network.
            private_ip_google_access=True,
            stack_type="IPV4_ONLY",
            log_config=gcp.compute.SubnetworkLogConfigArgs(
                aggregation_interval=_FLOW_LOG_INTERVAL,
                flow_sampling=_FLOW_LOG_SAMPLING,
                metadata="INCLUDE_ALL_METADATA",
            )
            if spec.flow_logs
            else None,
            opts=child,
        )
        router = gcp.compute.Router(
            name,
            project=project,
            region=ctx.region,
            network=network.id,
            description=f"mlfabric {ctx.base_name}: Cloud NAT for the platform subnet",
            opts=child,
        )
        gcp.compute.RouterNat(
            name,
            project=project,
            region=ctx.region,
            router=router.name,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
            subnetworks=[
                gcp.compute.RouterNatSubnetworkArgs(name=subnet.id, source_ip_ranges_to_nats=["ALL_IP_RANGES"])
            ],
            # Image pulls of GPU nodes open many connections at once: let ports grow per VM.
            enable_dynamic_port_allocation=True,
            enable_endpoint_independent_mapping=False,
            log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"),
            opts=child,
        )
        self._firewall(network, [nodes, pods])

        self.network_id = network.id
        self.private_subnet_ids = subnet.id.apply(lambda subnet_id: [subnet_id])

    def _firewall(self, network: gcp.compute.Network, internal: list[str]) -> None:
        name, ctx = self._name, self._ctx
        child = pulumi.ResourceOptions(parent=self)
        gcp.compute.Firewall(
            f"{name}-internal",
            project=ctx.account,
            network=network.id,
            description=f"mlfabric {ctx.base_name}: nodes and pods reach each other",
            direction="INGRESS",
            priority=1000,
            source_ranges=internal,
            allows=[gcp.compute.FirewallAllowArgs(protocol=p) for p in ("tcp", "udp", "icmp")],
            opts=child,
        )
        gcp.compute.Firewall(
            f"{name}-deny-ingress",
            project=ctx.account,
            network=network.id,
            description=f"mlfabric {ctx.base_name}: nothing else gets in (explicit, so it can be logged)",
            direction="INGRESS",
            priority=_DENY_PRIORITY,
            source_ranges=["0.0.0.0/0"],
            denies=[gcp.compute.FirewallDenyArgs(protocol="all")],
            log_config=gcp.compute.FirewallLogConfigArgs(metadata="INCLUDE_ALL_METADATA")
            if self._spec.flow_logs
            else None,
            opts=child,
        )


# --- shared by the GCP concerns --------------------------------------------------------------------

# Google-managed service agents ("service-<project number>@<domain>"), the identities that use a
# customer-managed key on a service's behalf. Agents GCP creates when the API is enabled are named by
# formula; the others are created on first use, so they are created explicitly
# (``gcp.projects.ServiceIdentity``) before anything is granted to them.
SERVICE_AGENT_DOMAINS: Final[dict[str, str]] = {
    "container.googleapis.com": "container-engine-robot.iam.gserviceaccount.com",
    "compute.googleapis.com": "compute-system.iam.gserviceaccount.com",
    "run.googleapis.com": "serverless-robot-prod.iam.gserviceaccount.com",
    "artifactregistry.googleapis.com": "gcp-sa-artifactregistry.iam.gserviceaccount.com",
    "aiplatform.googleapis.com": "gcp-sa-aiplatform.iam.gserviceaccount.com",
    "pubsub.googleapis.com": "gcp-sa-pubsub.iam.gserviceaccount.com",
    "monitoring.googleapis.com": "gcp-sa-monitoring-notification.iam.gserviceaccount.com",
}
GENERATED_AGENTS: Final = frozenset(
    {"artifactregistry.googleapis.com", "aiplatform.googleapis.com", "pubsub.googleapis.com", "monitoring.googleapis.com"}
)
KEY_USER_ROLE: Final = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
# Keys of the concerns other than storage rotate yearly (the spec's key_rotation_days is storage's).
KEY_ROTATION: Final = f"{365 * 86400}s"
KEY_DESTROY_DELAY: Final = f"{30 * 86400}s"
_ACCOUNT_ID_MAX: Final = 30


def api_slug(service: str) -> str:
    """``container`` for ``container.googleapis.com``: the suffix of logical names about a service."""
    return service.split(".", 1)[0]


def enable_apis(
    name: str, ctx: PlatformContext, parent: pulumi.Resource, *services: str
) -> dict[str, gcp.projects.Service]:
    """One ``gcp.projects.Service`` per API, left enabled on destroy (other concerns use them too)."""
    return {
        service: gcp.projects.Service(
            f"{name}-{api_slug(service)}-api",
            service=service,
            project=ctx.account,
            disable_on_destroy=False,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        for service in services
    }


def project_id(ctx: PlatformContext, parent: pulumi.Resource) -> pulumi.Output[str]:
    """The project every resource lives in: the spec's/stack's, else the provider's."""
    if ctx.account:
        return pulumi.Output.from_input(ctx.account)
    return gcp.organizations.get_project_output(opts=pulumi.InvokeOutputOptions(parent=parent)).project_id


def project_number(ctx: PlatformContext, parent: pulumi.Resource) -> pulumi.Output[str]:
    """The project number service agents are named after."""
    project = gcp.organizations.get_project_output(
        project_id=ctx.account, opts=pulumi.InvokeOutputOptions(parent=parent)
    )
    return project.number


def service_agent(
    name: str, service: str, ctx: PlatformContext, parent: pulumi.Resource, api: pulumi.Resource | None
) -> pulumi.Output[str]:
    """The IAM member of a service's Google-managed agent, created first where GCP creates it lazily."""
    if service in GENERATED_AGENTS:
        identity = gcp.projects.ServiceIdentity(
            f"{name}-{api_slug(service)}-agent",
            service=service,
            project=ctx.account,
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[api] if api is not None else None),
        )
        return identity.member
    domain = SERVICE_AGENT_DOMAINS[service]
    return project_number(ctx, parent).apply(lambda number: f"serviceAccount:service-{number}@{domain}")


def account_id(base_name: str, suffix: str) -> str:
    """A service account id ``<base>-<suffix>`` within GCP's 30 characters, hashed when longer."""
    candidate = f"{base_name}-{suffix}"
    if len(candidate) <= _ACCOUNT_ID_MAX:
        return candidate
    digest = naming.short_hash(base_name, suffix)
    room = _ACCOUNT_ID_MAX - len(digest) - 2
    # Keep as much of the suffix as fits, and at least the base's first letter (an id starts with one).
    head = max(1, room - len(suffix))
    return f"{base_name[:head].rstrip('-')}-{digest}-{suffix[: room - head]}".rstrip("-")


@dataclass(frozen=True)
class ConcernKey:
    """A concern's own customer-managed key (and the ring that holds it)."""

    key_ring: gcp.kms.KeyRing
    key: gcp.kms.CryptoKey


def concern_key(
    name: str, purpose: str, ctx: PlatformContext, parent: pulumi.Resource, kms_api: pulumi.Resource
) -> ConcernKey:
    """A regional key ring and yearly-rotated key for one concern; stateful (protected in prod)."""
    key_ring = gcp.kms.KeyRing(
        f"{name}-{purpose}",
        location=ctx.region,
        project=ctx.account,
        opts=ctx.stateful(parent, depends_on=[kms_api]),
    )
    key = gcp.kms.CryptoKey(
        f"{name}-{purpose}",
        key_ring=key_ring.id,
        purpose="ENCRYPT_DECRYPT",
        rotation_period=KEY_ROTATION,
        destroy_scheduled_duration=KEY_DESTROY_DELAY,
        labels=ctx.tags({"mlfabric-key": purpose}),
        opts=ctx.stateful(parent),
    )
    return ConcernKey(key_ring, key)


def key_user(
    logical: str, key_id: pulumi.Input[str], member: pulumi.Input[str], parent: pulumi.Resource
) -> gcp.kms.CryptoKeyIAMMember:
    """Let one service agent encrypt and decrypt with one key (and nothing else)."""
    return gcp.kms.CryptoKeyIAMMember(
        logical,
        crypto_key_id=key_id,
        role=KEY_USER_ROLE,
        member=member,
        opts=pulumi.ResourceOptions(parent=parent),
    )
