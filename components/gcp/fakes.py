"""Fake GCP answers: ids, physical names and self links in the Google provider's formats.

Which outputs a type computes comes from the installed ``pulumi_gcp`` SDK (``derived_outputs``); this
module only formats them. Ids follow the provider's formats (``_IDS``: ``projects/P/locations/L/
keyRings/K``, ``{keyRing}/cryptoKeys/C``, a bucket's id is its name, an IAM member's is ``<parent>
<role> <member>``…) because components pass them on as inputs — a bucket's default KMS key is the
crypto key's ``id``. ``STYLE`` answers what every type shares: the project and its number, self links,
``effectiveLabels`` / ``pulumiLabels`` (the labels plus ``goog-pulumi-provisioned``), etags, numeric
ids. ``_SPECIAL`` holds the values components read that need a real shape: the GKE cluster's endpoint
and CA, service account and service agent emails, Artifact Registry and Cloud Run URLs, the numbered
names Cloud Monitoring gives channels and policies, a sink's writer identity. ``INVOKES`` answers the
data sources components call (project, zones, an existing network, the logging CMEK settings).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from mlfabric.components.derived_outputs import Style, complete, schema_of
from mlfabric.components.fakes import Registration, World, digits_of, fields

Fake = Callable[[Registration], dict[str, Any]]
_API: Final = "https://www.googleapis.com"

_IDS: Final[dict[str, str]] = {
    "gcp:projects/service:Service": "{project}/{service}",
    "gcp:projects/serviceIdentity:ServiceIdentity": "projects/{project}/services/{service}",
    "gcp:kms/keyRing:KeyRing": "projects/{project}/locations/{location}/keyRings/{physical}",
    "gcp:kms/cryptoKey:CryptoKey": "{keyRing}/cryptoKeys/{physical}",
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": "{cryptoKeyId}/{role}/{member}",
    "gcp:storage/bucket:Bucket": "{physical}",
    "gcp:storage/bucketIAMMember:BucketIAMMember": "b/{bucket}/{role}/{member}",
    "gcp:compute/network:Network": "projects/{project}/global/networks/{physical}",
    "gcp:compute/subnetwork:Subnetwork": "projects/{project}/regions/{region}/subnetworks/{physical}",
    "gcp:compute/router:Router": "projects/{project}/regions/{region}/routers/{physical}",
    "gcp:compute/routerNat:RouterNat": "{project}/{region}/{router}/{physical}",
    "gcp:compute/firewall:Firewall": "projects/{project}/global/firewalls/{physical}",
    "gcp:container/cluster:Cluster": "projects/{project}/locations/{location}/clusters/{physical}",
    "gcp:container/nodePool:NodePool": "{project}/{location}/{cluster_name}/{physical}",
    "gcp:serviceaccount/account:Account": "projects/{project}/serviceAccounts/{email}",
    "gcp:artifactregistry/repository:Repository": "projects/{project}/locations/{location}/repositories/{physical}",
    "gcp:cloudrunv2/service:Service": "projects/{project}/locations/{location}/services/{physical}",
    "gcp:monitoring/alertPolicy:AlertPolicy": "projects/{project}/alertPolicies/{number}",
    "gcp:monitoring/notificationChannel:NotificationChannel": "projects/{project}/notificationChannels/{number}",
    "gcp:monitoring/dashboard:Dashboard": "projects/{project_number}/dashboards/{uuid}",
    "gcp:pubsub/topic:Topic": "projects/{project}/topics/{physical}",
    "gcp:logging/projectBucketConfig:ProjectBucketConfig": "projects/{project}/locations/{location}/buckets/{physical}",
    "gcp:logging/projectSink:ProjectSink": "projects/{project}/sinks/{physical}",
    # A Cloud SQL instance's id is its name.
    "gcp:sql/databaseInstance:DatabaseInstance": "{physical}",
}
# ``*IAMMember`` types: the input naming the parent their id starts with (the project otherwise).
_IAM_PARENT: Final[dict[str, str]] = {
    "gcp:serviceaccount/iAMMember:IAMMember": "serviceAccountId",
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember": "repository",
    "gcp:cloudrunv2/serviceIamMember:ServiceIamMember": "name",
    "gcp:pubsub/topicIAMMember:TopicIAMMember": "topic",
}
# Where a type lives when its inputs name no location.
_DEFAULT_LOCATION: Final = {"gcp:logging/projectBucketConfig:ProjectBucketConfig": "global"}
# Types whose ``name`` output is their full resource path.
_PATH_NAMED: Final = frozenset({
    "gcp:serviceaccount/account:Account", "gcp:monitoring/alertPolicy:AlertPolicy",
    "gcp:monitoring/notificationChannel:NotificationChannel", "gcp:logging/projectBucketConfig:ProjectBucketConfig",
})
# Service agent domains (mirrors mlfabric.components.gcp.network.SERVICE_AGENT_DOMAINS; no SDK import here).
_AGENT_DOMAINS: Final = {
    "artifactregistry.googleapis.com": "gcp-sa-artifactregistry.iam.gserviceaccount.com",
    "aiplatform.googleapis.com": "gcp-sa-aiplatform.iam.gserviceaccount.com",
    "pubsub.googleapis.com": "gcp-sa-pubsub.iam.gserviceaccount.com",
    "monitoring.googleapis.com": "gcp-sa-monitoring-notification.iam.gserviceaccount.com",
    "file.googleapis.com": "cloud-filer.iam.gserviceaccount.com",
    "sqladmin.googleapis.com": "gcp-sa-cloud-sql.iam.gserviceaccount.com",
}
# base64 of a PEM header: enough for a kubeconfig to carry; nothing can verify it offline.
CA_DATA: Final = ("LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUMvakNDQWVhZ0F3SUJBZ0lCQURBTkJna3Foa2lHOXcwQkFRc0ZBREFW"
                  "TVJNd0VRWURWUVFERXdwcmRXSmwKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=")


def _project(r: Registration) -> str:
    return r.text("project", r.world.gcp_project)


def _physical(r: Registration) -> str:
    schema = schema_of(r.typ)
    key = schema.name_key("name", f"{r.camel_kind}Id", "bucketId") if schema else "name"
    prefix = r.text("namePrefix")
    # Pulumi auto-naming (or the provider's, from a name prefix): a stable suffix here.
    auto = f"{prefix}{r.digest(length=10)}" if prefix else f"{r.name}-{r.digest(length=7)}"
    return r.text(key, auto) if key else auto


def _email(r: Registration) -> str:
    return f"{r.text('accountId')}@{_project(r)}.iam.gserviceaccount.com"


def _resource_id(r: Registration) -> str:
    template = _IDS.get(r.typ)
    if template is None and (r.typ in _IAM_PARENT or r.kind.endswith(("IAMMember", "IamMember"))):
        parent = r.text(_IAM_PARENT.get(r.typ, "project"), _project(r))
        condition = (r.inputs.get("condition") or {}).get("title")
        return " ".join(str(p) for p in (parent, r.text("role"), r.text("member"), condition) if p)
    if template is None:
        template = f"projects/{{project}}/locations/{{location}}/{r.camel_kind}s/{{physical}}"
    return template.format_map(fields(
        r, project=_project(r), location=_DEFAULT_LOCATION.get(r.typ, r.world.region),
        project_number=r.world.gcp_project_number, number=digits_of(r.typ, r.name), email=_email(r),
        cluster_name=r.text("cluster").rsplit("/", 1)[-1],
    ))


def _cluster(r: Registration) -> dict[str, Any]:
    private_ip = f"172.16.{int(r.digest(length=2), 16) % 254 + 1}.2"
    public_ip = f"34.{int(r.digest('p', length=2), 16) % 254 + 1}.10.20"
    private = dict(r.inputs.get("privateClusterConfig") or {})
    private_only = bool(private.get("enablePrivateEndpoint"))
    private.update({"privateEndpoint": private_ip, "publicEndpoint": "" if private_only else public_ip})
    # The endpoint a client reaches: the private one when the public endpoint is off.
    return {"endpoint": private_ip if private_only else public_ip, "privateClusterConfig": private,
            "masterAuth": {**dict(r.inputs.get("masterAuth") or {}), "clusterCaCertificate": CA_DATA}}


def _service_identity(r: Registration) -> dict[str, Any]:
    service = r.text("service")
    domain = _AGENT_DOMAINS.get(service, f"gcp-sa-{service.split('.', maxsplit=1)[0]}.iam.gserviceaccount.com")
    email = f"service-{r.world.gcp_project_number}@{domain}"
    return {"email": email, "member": f"serviceAccount:{email}"}


def _repository(r: Registration) -> dict[str, Any]:
    location = r.text("location", r.world.region)
    return {"registryUri": f"{location}-docker.pkg.dev/{_project(r)}/{r.physical}"}


def _run_service(r: Registration) -> dict[str, Any]:
    # Cloud Run URLs: https://<service>-<project hash>.<region code>.run.app (the region code is opaque).
    host = f"{r.physical}-{digits_of(_project(r), length=12)}.{r.text('location', r.world.region)}.run.app"
    return {"uri": f"https://{host}", "urls": [f"https://{host}"]}


def _filestore(r: Registration) -> dict[str, Any]:
    # Filestore (direct peering) answers with an address of the range it picked for the instance.
    networks = [dict(n) for n in r.inputs.get("networks") or [{}]]
    for index, network in enumerate(networks):
        network["ipAddresses"] = [f"10.{int(r.digest(str(index), length=2), 16) % 200 + 50}.0.2"]
    return {"networks": networks}


def _sql_instance(r: Registration) -> dict[str, Any]:
    # connectionName is <project>:<region>:<instance>; a private-IP-only instance has one private address.
    region = r.text("region", r.world.region)
    address = f"10.{int(r.digest(length=2), 16) % 200 + 50}.0.3"
    return {"connectionName": f"{_project(r)}:{region}:{r.physical}", "privateIpAddress": address,
            "ipAddresses": [{"ipAddress": address, "type": "PRIVATE"}]}


def _workbench(r: Registration) -> dict[str, Any]:
    # JupyterLab's proxy URL (<hash>-dot-<region>.notebooks.googleusercontent.com).
    return {"proxyUri": f"{r.digest(length=16)}-dot-{r.world.region}.notebooks.googleusercontent.com"}


def _sink(r: Registration) -> dict[str, Any]:
    agent = f"service-{r.world.gcp_project_number}@gcp-sa-logging.iam.gserviceaccount.com"
    return {"writerIdentity": f"serviceAccount:{agent}"}


_SPECIAL: Final[dict[str, Fake]] = {
    "gcp:container/cluster:Cluster": _cluster,
    "gcp:projects/serviceIdentity:ServiceIdentity": _service_identity,
    "gcp:serviceaccount/account:Account": lambda r: {"email": _email(r), "member": f"serviceAccount:{_email(r)}"},
    "gcp:storage/bucket:Bucket": lambda r: {"url": f"gs://{r.physical}"},
    "gcp:artifactregistry/repository:Repository": _repository,
    "gcp:cloudrunv2/service:Service": _run_service,
    "gcp:logging/projectSink:ProjectSink": _sink,
    "gcp:filestore/instance:Instance": _filestore,
    "gcp:sql/databaseInstance:DatabaseInstance": _sql_instance,
    "gcp:workbench/instance:Instance": _workbench,
}


def _labels(r: Registration, prop: str) -> dict[str, Any]:
    del prop
    given: dict[str, Any] = next((r.inputs[k] for k in ("labels", "resourceLabels", "userLabels") if r.inputs.get(k)), {})
    return {**given, "goog-pulumi-provisioned": "true"}


def _self_link(r: Registration, prop: str) -> str:
    del prop
    if r.module == "storage":
        return f"{_API}/storage/v1/b/{r.physical}"
    if r.module == "container":
        return f"https://container.googleapis.com/v1/{r.resource_id}"
    return f"{_API}/{r.module}/v1/{r.resource_id}"


STYLE: Final = Style(
    cloud="gcp",
    rules={
        "project": lambda r, _: _project(r),
        "projectNumber": lambda r, _: r.world.gcp_project_number,
        "selfLink": _self_link,
        "effectiveLabels": _labels,
        "pulumiLabels": _labels,
        "terraformLabels": _labels,
        "etag": lambda r, _: "BwY" + r.digest(length=9),
        "numericId": lambda r, _: digits_of(r.typ, r.name),
        "uniqueId": lambda r, _: digits_of(r.typ, r.name, length=21),
        "*networkId": lambda r, p: digits_of(r.typ, r.name, p),
    },
    defaults=("project",),
    host=lambda r: f"{r.physical or r.name}.{r.module}.googleapis.com",
    ready="READY",
)


def outputs(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    """Computed outputs of a ``gcp:`` resource (``__id``: its id)."""
    r = Registration(typ, name, inputs, world)
    r.physical = _physical(r)
    r.resource_id = _resource_id(r)
    answer: dict[str, Any] = {"__id": r.resource_id}
    schema = schema_of(typ)
    if schema is not None and "name" in schema.outputs and "name" not in inputs:
        answer["name"] = r.resource_id if typ in _PATH_NAMED else r.physical
    special = _SPECIAL.get(typ)
    if special is not None:
        answer.update(special(r))
    return complete(r, answer, STYLE)


# --- invokes -------------------------------------------------------------------------------------


def _storage_service_agent(args: dict[str, Any], world: World) -> dict[str, Any]:
    # The agent is named after the project *number*; the fake world has one number for any project.
    email = f"service-{world.gcp_project_number}@gs-project-accounts.iam.gserviceaccount.com"
    return {"emailAddress": email, "member": f"serviceAccount:{email}",
            "project": args.get("project") or world.gcp_project, "id": email}


# Zones Compute Engine lists per region (a few real ones; other regions get a, b, c).
_ZONES: Final[dict[str, tuple[str, ...]]] = {
    "us-central1": ("a", "b", "c", "f"),
    "us-east1": ("b", "c", "d"),
    "europe-west1": ("b", "c", "d"),
    "europe-west4": ("a", "b", "c"),
}


def _zones(args: dict[str, Any], world: World) -> dict[str, Any]:
    region = str(args.get("region") or world.region)
    project = args.get("project") or world.gcp_project
    names = [f"{region}-{z}" for z in _ZONES.get(region, ("a", "b", "c"))]
    return {"id": f"projects/{project}/regions/{region}", "names": names, "project": project, "region": region,
            "status": args.get("status") or "UP"}


def _get_network(args: dict[str, Any], world: World) -> dict[str, Any]:
    project, name = args.get("project") or world.gcp_project, args["name"]
    path = f"projects/{project}/global/networks/{name}"
    return {"id": path, "name": name, "project": project, "selfLink": f"{_API}/compute/v1/{path}",
            "subnetworksSelfLinks": [], "gatewayIpv4": "", "networkId": int(digits_of(path, length=12))}


def _get_subnetwork(args: dict[str, Any], world: World) -> dict[str, Any]:
    project, name = args.get("project") or world.gcp_project, args["name"]
    region = args.get("region") or world.region
    path = f"projects/{project}/regions/{region}/subnetworks/{name}"
    return {"id": path, "name": name, "project": project, "region": region, "selfLink": f"{_API}/compute/v1/{path}",
            "ipCidrRange": "10.0.128.0/18", "gatewayAddress": "10.0.128.1", "privateIpGoogleAccess": True,
            "network": f"{_API}/compute/v1/projects/{project}/global/networks/shared",
            "secondaryIpRanges": [{"rangeName": "pods", "ipCidrRange": "10.0.0.0/17"},
                                  {"rangeName": "services", "ipCidrRange": "10.0.192.0/20"}]}


def _cmek_settings(args: dict[str, Any], world: World) -> dict[str, Any]:
    project = args.get("project") or world.gcp_project
    account = f"service-{world.gcp_project_number}@gcp-sa-logging.iam.gserviceaccount.com"
    return {"id": f"projects/{project}/cmekSettings", "name": f"projects/{project}/cmekSettings", "project": project,
            "serviceAccountId": account, "kmsServiceAccountId": account, "kmsKeyName": "", "kmsKeyVersionName": ""}


def _get_project(args: dict[str, Any], world: World) -> dict[str, Any]:
    project = args.get("projectId") or world.gcp_project
    return {"projectId": project, "number": world.gcp_project_number, "name": project, "id": f"projects/{project}"}


def _transfer_agent(args: dict[str, Any], world: World) -> dict[str, Any]:
    # Storage Transfer Service's project agent, named after the project number.
    email = f"project-{world.gcp_project_number}@storage-transfer-service.iam.gserviceaccount.com"
    return {"email": email, "member": f"serviceAccount:{email}", "subjectId": digits_of(email, length=21),
            "project": args.get("project") or world.gcp_project, "id": email}


INVOKES: dict[str, Callable[[dict[str, Any], World], dict[str, Any]]] = {
    "gcp:storage/getTransferProjectServiceAccount:getTransferProjectServiceAccount": _transfer_agent,
    "gcp:organizations/getProject:getProject": _get_project,
    "gcp:storage/getProjectServiceAccount:getProjectServiceAccount": _storage_service_agent,
    "gcp:compute/getZones:getZones": _zones,
    "gcp:compute/getNetwork:getNetwork": _get_network,
    "gcp:compute/getSubnetwork:getSubnetwork": _get_subnetwork,
    "gcp:logging/getProjectCmekSettings:getProjectCmekSettings": _cmek_settings,
}
