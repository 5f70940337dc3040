"""Fake GCP answers: physical names, ids and self links as the Google provider computes them.

Resource ids follow the provider's formats (``projects/P/locations/R/keyRings/K/cryptoKeys/C``,
a bucket's id is its name...) because components pass them on as inputs — a bucket's default KMS
key is the crypto key's ``id`` — and an input built from an output the mock did not return is
silently dropped under the mock runtime.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from mlfabric.mocks.world import World

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


_OUTPUTS: dict[str, Callable[[str, str, dict[str, Any], World], dict[str, Any]]] = {
    "gcp:projects/service:Service": _service,
    "gcp:kms/keyRing:KeyRing": _key_ring,
    "gcp:kms/cryptoKey:CryptoKey": _crypto_key,
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": _crypto_key_iam_member,
    "gcp:storage/bucket:Bucket": _bucket,
    "gcp:storage/bucketIAMMember:BucketIAMMember": _bucket_iam_member,
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


INVOKES: dict[str, Any] = {
    "gcp:organizations/getProject:getProject": lambda _args, w: {
        "projectId": w.gcp_project,
        "number": w.gcp_project_number,
        "name": w.gcp_project,
        "id": f"projects/{w.gcp_project}",
    },
    "gcp:storage/getProjectServiceAccount:getProjectServiceAccount": _storage_service_agent,
}
