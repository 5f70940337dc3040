"""Fake GCP answers: physical names, ids and self links as the Google provider computes them.

Resource ids follow the provider's formats (``projects/P/locations/R/keyRings/K/cryptoKeys/C``,
a bucket's id is its name...) because components pass them on as inputs — a bucket's default KMS
key is the crypto key's ``id`` — and an input built from an output the mock did not return is
silently dropped under the mock runtime.

Beyond storage: networks, subnetworks, routers and firewalls (``projects/P/.../<kind>/N`` ids and self
links), the GKE cluster (private/public endpoint, ``masterAuth.clusterCaCertificate``, workload
identity echoed) and node pools (``namePrefix`` + suffix, instance groups), service accounts
(``email``, ``member``), service identities (the agent email per service), IAM members (the provider's
``<parent> <role> <member>`` ids), Artifact Registry repositories (``registryUri``), Cloud Run services
(``uri``, revisions, traffic), notification channels and alert policies (numbered names), dashboards
(by project number), Pub/Sub topics, log buckets (CMEK service account) and sinks (writer identity);
invokes for zones, an existing network/subnetwork and the project's logging CMEK settings.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable
from typing import Any

from mlfabric.components.fakes import World

_API = "https://www.googleapis.com"


def _suffix(*parts: str, length: int = 7) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _physical(typ: str, name: str, inputs: dict[str, Any]) -> str:
    # Pulumi auto-naming: the logical name plus a random suffix; here a stable one.
    return str(inputs.get("name") or f"{name}-{_suffix(typ, name)}")


def _project(inputs: dict[str, Any], world: World) -> str:
    return str(inputs.get("project") or world.gcp_project)


def _etag(*parts: str) -> str:
    return "BwY" + _suffix(*parts, length=9)


def _service(_typ: str, _name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    project = _project(inputs, world)
    return {"__id": f"{project}/{inputs['service']}", "project": project}


def _key_ring(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    project, physical = _project(inputs, world), _physical(typ, name, inputs)
    location = inputs.get("location") or world.region
    return {
        "__id": f"projects/{project}/locations/{location}/keyRings/{physical}",
        "name": physical,
        "project": project,
        "location": location,
    }


def _crypto_key(typ: str, name: str, inputs: dict[str, Any], _world: World) -> dict[str, Any]:
    physical = _physical(typ, name, inputs)
    labels = dict(inputs.get("labels") or {})
    return {
        "__id": f"{inputs['keyRing']}/cryptoKeys/{physical}",
        "name": physical,
        "purpose": inputs.get("purpose") or "ENCRYPT_DECRYPT",
        "primaries": [{"name": f"{inputs['keyRing']}/cryptoKeys/{physical}/cryptoKeyVersions/1", "state": "ENABLED"}],
        "effectiveLabels": {**labels, "goog-pulumi-provisioned": "true"},
        "pulumiLabels": {**labels, "goog-pulumi-provisioned": "true"},
    }


def _bucket(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    project, physical = _project(inputs, world), _physical(typ, name, inputs)
    labels = dict(inputs.get("labels") or {})
    return {
        "__id": physical,
        "name": physical,
        "project": project,
        "projectNumber": world.gcp_project_number,
        # The API answers locations in upper case.
        "location": str(inputs.get("location") or "US").upper(),
        "url": f"gs://{physical}",
        "selfLink": f"{_API}/storage/v1/b/{physical}",
        "storageClass": inputs.get("storageClass") or "STANDARD",
        "timeCreated": "2025-01-01T00:00:00.000Z",
        "effectiveLabels": {**labels, "goog-pulumi-provisioned": "true"},
        "pulumiLabels": {**labels, "goog-pulumi-provisioned": "true"},
    }


def _crypto_key_iam_member(typ: str, name: str, inputs: dict[str, Any], _world: World) -> dict[str, Any]:
    key, role, member = inputs["cryptoKeyId"], inputs["role"], inputs["member"]
    return {"__id": f"{key}/{role}/{member}", "etag": _etag(typ, name)}


def _bucket_iam_member(typ: str, name: str, inputs: dict[str, Any], _world: World) -> dict[str, Any]:
    bucket, role, member = inputs["bucket"], inputs["role"], inputs["member"]
    return {"__id": f"b/{bucket}/{role}/{member}", "etag": _etag(typ, name)}


def _digits(*parts: str, length: int = 19) -> str:
    """A stable numeric id (Google's numeric resource ids), never starting with 0."""
    return str(int(hashlib.sha256("/".join(parts).encode()).hexdigest(), 16))[:length].replace("0", "1", 1)


def _uuid(*parts: str) -> str:
    h = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _labels(inputs: dict[str, Any], key: str = "labels") -> dict[str, Any]:
    labels = dict(inputs.get(key) or {})
    return {"effectiveLabels": {**labels, "goog-pulumi-provisioned": "true"},
            "pulumiLabels": {**labels, "goog-pulumi-provisioned": "true"}}


def _iam_member(parent_key: str) -> Callable[[str, str, dict[str, Any], World], dict[str, Any]]:
    """Any ``*IAMMember``: id ``<parent> <role> <member>`` (the provider's format) and an etag."""

    def fake(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
        parent = inputs.get(parent_key) or _project(inputs, world)
        condition = (inputs.get("condition") or {}).get("title")
        rid = " ".join(str(p) for p in (parent, inputs["role"], inputs["member"], condition) if p)
        return {"__id": rid, "etag": _etag(typ, name)}

    return fake


# --- network ---------------------------------------------------------------------------------------


def _network(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    project, physical = _project(inputs, world), _physical(typ, name, inputs)
    path = f"projects/{project}/global/networks/{physical}"
    return {"__id": path, "name": physical, "project": project, "selfLink": f"{_API}/compute/v1/{path}",
            "numericId": _digits(typ, name), "routingMode": inputs.get("routingMode") or "REGIONAL"}


def _regional(kind: str) -> Callable[[str, str, dict[str, Any], World], dict[str, Any]]:
    """A regional Compute Engine resource (subnetworks, routers): projects/P/regions/R/<kind>/N."""

    def fake(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
        project, physical = _project(inputs, world), _physical(typ, name, inputs)
        region = inputs.get("region") or world.region
        path = f"projects/{project}/regions/{region}/{kind}/{physical}"
        answer = {"__id": path, "name": physical, "project": project, "region": region,
                  "selfLink": f"{_API}/compute/v1/{path}", "creationTimestamp": "2025-01-01T00:00:00.000-08:00"}
        if kind == "subnetworks":
            primary = ipaddress.IPv4Network(str(inputs["ipCidrRange"]))
            answer.update({"gatewayAddress": str(primary.network_address + 1), "fingerprint": _etag(typ, name),
                           "subnetworkId": _digits(typ, name)})
        return answer

    return fake


def _router_nat(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    project, physical = _project(inputs, world), _physical(typ, name, inputs)
    region = inputs.get("region") or world.region
    return {"__id": f"{project}/{region}/{inputs['router']}/{physical}", "name": physical, "project": project,
            "region": region}


def _firewall(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    project, physical = _project(inputs, world), _physical(typ, name, inputs)
    path = f"projects/{project}/global/firewalls/{physical}"
    return {"__id": path, "name": physical, "project": project, "selfLink": f"{_API}/compute/v1/{path}",
            "creationTimestamp": "2025-01-01T00:00:00.000-08:00"}


# --- GKE -------------------------------------------------------------------------------------------

# base64 of a PEM header: enough for a kubeconfig to carry; nothing can verify it offline.
_CA_DATA = ("LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUMvakNDQWVhZ0F3SUJBZ0lCQURBTkJna3Foa2lHOXcwQkFRc0ZBREFWTVJNd0VRWURW"
            "UVFERXdwcmRXSmwKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=")


def _cluster(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    project, physical = _project(inputs, world), _physical(typ, name, inputs)
    location = inputs.get("location") or world.region
    path = f"projects/{project}/locations/{location}/clusters/{physical}"
    private_ip = f"172.16.{int(_suffix(typ, name, length=2), 16) % 254 + 1}.2"
    public_ip = f"34.{int(_suffix(typ, name, 'p', length=2), 16) % 254 + 1}.10.20"
    private = dict(inputs.get("privateClusterConfig") or {})
    private_endpoint_only = bool(private.get("enablePrivateEndpoint"))
    private.update({"privateEndpoint": private_ip, "publicEndpoint": "" if private_endpoint_only else public_ip})
    return {
        "__id": path,
        "name": physical,
        "project": project,
        "location": location,
        "selfLink": f"https://container.googleapis.com/v1/{path}",
        # The endpoint a client reaches: the private one when the public endpoint is off.
        "endpoint": private_ip if private_endpoint_only else public_ip,
        "masterAuth": {"clusterCaCertificate": _CA_DATA,
                       "clientCertificateConfig": {"issueClientCertificate": False}},
        "masterVersion": f"{inputs.get('minMasterVersion') or '1.31'}.5-gke.1000000",
        "privateClusterConfig": private,
        "workloadIdentityConfig": inputs.get("workloadIdentityConfig") or {},
        "servicesIpv4Cidr": "10.0.192.0/20",
        "labelFingerprint": _etag(typ, name),
        "operation": "",
        **_labels(inputs, "resourceLabels"),
    }


def _node_pool(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    project = _project(inputs, world)
    prefix = inputs.get("namePrefix")
    physical = str(inputs.get("name") or (f"{prefix}{_suffix(typ, name, length=10)}" if prefix else _physical(typ, name, inputs)))
    cluster = str(inputs.get("cluster") or "").rsplit("/", 1)[-1]
    location = inputs.get("location") or world.region
    group = f"gke-{cluster[:14]}-{physical[:14]}-{_suffix(typ, name, length=8)}"
    zone = location if location.count("-") == 2 else f"{location}-a"
    urls = [f"{_API}/compute/v1/projects/{project}/zones/{zone}/instanceGroupManagers/{group}-grp"]
    return {"__id": f"{project}/{location}/{cluster}/{physical}", "name": physical, "project": project,
            "location": location, "instanceGroupUrls": urls, "managedInstanceGroupUrls": urls,
            "version": "1.31.5-gke.1000000", "operation": ""}


# --- identities --------------------------------------------------------------------------------------

# Service agent domains (mirrors mlfabric.components.gcp.network.SERVICE_AGENT_DOMAINS; no SDK import here).
_AGENT_DOMAINS = {
    "artifactregistry.googleapis.com": "gcp-sa-artifactregistry.iam.gserviceaccount.com",
    "aiplatform.googleapis.com": "gcp-sa-aiplatform.iam.gserviceaccount.com",
    "pubsub.googleapis.com": "gcp-sa-pubsub.iam.gserviceaccount.com",
    "monitoring.googleapis.com": "gcp-sa-monitoring-notification.iam.gserviceaccount.com",
}


def _service_identity(_typ: str, _name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    project, service = _project(inputs, world), str(inputs["service"])
    domain = _AGENT_DOMAINS.get(service, f"gcp-sa-{service.split('.', maxsplit=1)[0]}.iam.gserviceaccount.com")
    email = f"service-{world.gcp_project_number}@{domain}"
    return {"__id": f"projects/{project}/services/{service}", "email": email, "member": f"serviceAccount:{email}",
            "project": project}


def _service_account(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    project = _project(inputs, world)
    email = f"{inputs['accountId']}@{project}.iam.gserviceaccount.com"
    path = f"projects/{project}/serviceAccounts/{email}"
    return {"__id": path, "name": path, "email": email, "member": f"serviceAccount:{email}", "project": project,
            "uniqueId": _digits(typ, name, length=21)}


# --- registry, serving -----------------------------------------------------------------------------


def _repository(_typ: str, _name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    project, location = _project(inputs, world), inputs.get("location") or world.region
    repository = str(inputs["repositoryId"])
    path = f"projects/{project}/locations/{location}/repositories/{repository}"
    suffix = {"DOCKER": "docker"}.get(str(inputs.get("format") or "DOCKER").upper(), "docker")
    return {"__id": path, "name": repository, "project": project, "location": location,
            "registryUri": f"{location}-{suffix}.pkg.dev/{project}/{repository}",
            "createTime": "2025-01-01T00:00:00Z", "updateTime": "2025-01-01T00:00:00Z", **_labels(inputs)}


def _run_service(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    project, physical = _project(inputs, world), _physical(typ, name, inputs)
    location = inputs.get("location") or world.region
    path = f"projects/{project}/locations/{location}/services/{physical}"
    # Cloud Run URLs: https://<service>-<project hash>.<region code>.run.app (the region code is opaque).
    host = f"{physical}-{_digits(project, length=12)}.{location}.run.app"
    revision = (inputs.get("template") or {}).get("revision") or f"{physical}-00001-abc"
    traffic = [{"type": t.get("type"), "revision": t.get("revision", ""), "percent": t.get("percent", 0),
                "tag": t.get("tag", ""), "uri": f"https://{t['tag']}---{host}" if t.get("tag") else ""}
               for t in inputs.get("traffics") or []]
    return {"__id": path, "name": physical, "project": project, "location": location, "uri": f"https://{host}",
            "urls": [f"https://{host}"], "uid": _uuid(typ, name), "generation": "1",
            "latestCreatedRevision": f"{path}/revisions/{revision}", "latestReadyRevision": f"{path}/revisions/{revision}",
            "trafficStatuses": traffic, "createTime": "2025-01-01T00:00:00Z", "reconciling": False,
            **_labels(inputs)}


# --- monitoring ------------------------------------------------------------------------------------


def _numbered(collection: str) -> Callable[[str, str, dict[str, Any], World], dict[str, Any]]:
    """Cloud Monitoring objects named projects/P/<collection>/<number> by the API."""

    def fake(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
        path = f"projects/{_project(inputs, world)}/{collection}/{_digits(typ, name)}"
        answer: dict[str, Any] = {"__id": path, "name": path, "project": _project(inputs, world)}
        if collection == "notificationChannels":
            answer["verificationStatus"] = "VERIFICATION_STATUS_UNSPECIFIED"
        return answer

    return fake


def _dashboard(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    # Dashboards are addressed by project *number*.
    return {"__id": f"projects/{world.gcp_project_number}/dashboards/{_uuid(typ, name)}",
            "project": _project(inputs, world)}


def _topic(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    project, physical = _project(inputs, world), _physical(typ, name, inputs)
    return {"__id": f"projects/{project}/topics/{physical}", "name": physical, "project": project, **_labels(inputs)}


def _log_bucket(_typ: str, _name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    project, location = _project(inputs, world), inputs.get("location") or "global"
    path = f"projects/{project}/locations/{location}/buckets/{inputs['bucketId']}"
    cmek = dict(inputs.get("cmekSettings") or {})
    if cmek:
        cmek.update({"name": f"{path}/cmekSettings",
                     "serviceAccountId": f"service-{world.gcp_project_number}@gcp-sa-logging.iam.gserviceaccount.com",
                     "kmsKeyVersionName": f"{cmek.get('kmsKeyName')}/cryptoKeyVersions/1"})
    return {"__id": path, "name": path, "lifecycleState": "ACTIVE", "cmekSettings": cmek}


def _log_sink(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    project, physical = _project(inputs, world), _physical(typ, name, inputs)
    writer = f"serviceAccount:service-{world.gcp_project_number}@gcp-sa-logging.iam.gserviceaccount.com"
    return {"__id": f"projects/{project}/sinks/{physical}", "name": physical, "project": project,
            "writerIdentity": writer}


_OUTPUTS: dict[str, Callable[[str, str, dict[str, Any], World], dict[str, Any]]] = {
    "gcp:projects/service:Service": _service,
    "gcp:projects/serviceIdentity:ServiceIdentity": _service_identity,
    "gcp:projects/iAMMember:IAMMember": _iam_member("project"),
    "gcp:kms/keyRing:KeyRing": _key_ring,
    "gcp:kms/cryptoKey:CryptoKey": _crypto_key,
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": _crypto_key_iam_member,
    "gcp:storage/bucket:Bucket": _bucket,
    "gcp:storage/bucketIAMMember:BucketIAMMember": _bucket_iam_member,
    "gcp:compute/network:Network": _network,
    "gcp:compute/subnetwork:Subnetwork": _regional("subnetworks"),
    "gcp:compute/router:Router": _regional("routers"),
    "gcp:compute/routerNat:RouterNat": _router_nat,
    "gcp:compute/firewall:Firewall": _firewall,
    "gcp:container/cluster:Cluster": _cluster,
    "gcp:container/nodePool:NodePool": _node_pool,
    "gcp:serviceaccount/account:Account": _service_account,
    "gcp:serviceaccount/iAMMember:IAMMember": _iam_member("serviceAccountId"),
    "gcp:artifactregistry/repository:Repository": _repository,
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember": _iam_member("repository"),
    "gcp:cloudrunv2/service:Service": _run_service,
    "gcp:cloudrunv2/serviceIamMember:ServiceIamMember": _iam_member("name"),
    "gcp:monitoring/alertPolicy:AlertPolicy": _numbered("alertPolicies"),
    "gcp:monitoring/notificationChannel:NotificationChannel": _numbered("notificationChannels"),
    "gcp:monitoring/dashboard:Dashboard": _dashboard,
    "gcp:pubsub/topic:Topic": _topic,
    "gcp:pubsub/topicIAMMember:TopicIAMMember": _iam_member("topic"),
    "gcp:logging/projectBucketConfig:ProjectBucketConfig": _log_bucket,
    "gcp:logging/projectSink:ProjectSink": _log_sink,
}


def outputs(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    """Computed outputs of a ``gcp:`` resource."""
    specific = _OUTPUTS.get(typ)
    if specific is not None:
        return specific(typ, name, inputs, world)
    project = _project(inputs, world)
    physical = _physical(typ, name, inputs)
    module = typ.split(":")[1].split("/", maxsplit=1)[0]
    kind = typ.rsplit(":", 1)[-1]
    resource_path = f"projects/{project}/locations/{world.region}/{kind[0].lower() + kind[1:]}s/{physical}"
    return {
        "name": physical,
        "project": project,
        "selfLink": f"{_API}/{module}/v1/{resource_path}",
        "__id": resource_path,
    }


def _storage_service_agent(args: dict[str, Any], world: World) -> dict[str, Any]:
    # The agent is named after the project *number*; the fake world has one number for any project.
    email = f"service-{world.gcp_project_number}@gs-project-accounts.iam.gserviceaccount.com"
    return {
        "emailAddress": email,
        "member": f"serviceAccount:{email}",
        "project": args.get("project") or world.gcp_project,
        "id": email,
    }


# Zones Compute Engine lists per region (a few real ones; other regions get a, b, c).
_ZONES: dict[str, tuple[str, ...]] = {
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
            "subnetworksSelfLinks": [], "gatewayIpv4": "", "networkId": int(_digits(path, length=12))}


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


INVOKES: dict[str, Any] = {
    "gcp:organizations/getProject:getProject": lambda args, w: {
        "projectId": args.get("projectId") or w.gcp_project,
        "number": w.gcp_project_number,
        "name": args.get("projectId") or w.gcp_project,
        "id": f"projects/{args.get('projectId') or w.gcp_project}",
    },
    "gcp:storage/getProjectServiceAccount:getProjectServiceAccount": _storage_service_agent,
    "gcp:compute/getZones:getZones": _zones,
    "gcp:compute/getNetwork:getNetwork": _get_network,
    "gcp:compute/getSubnetwork:getSubnetwork": _get_subnetwork,
    "gcp:logging/getProjectCmekSettings:getProjectCmekSettings": _cmek_settings,
}
