"""Fake AWS answers: ARNs, physical names and ids as the AWS provider would compute them."""

from __future__ import annotations

import hashlib
from typing import Any

from mlfabric.mocks.aws_ml import OUTPUTS as ML_OUTPUTS
from mlfabric.mocks.world import World


def _suffix(*parts: str, length: int = 7) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _auto_name(name: str, typ: str) -> str:
    # Pulumi auto-naming: the logical name plus a random suffix; here a stable one.
    return f"{name}-{_suffix(typ, name)}"


def _uuid(*parts: str) -> str:
    h = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def outputs(typ: str, name: str, inputs: dict[str, Any], world: World) -> dict[str, Any]:
    """Computed outputs of an ``aws:`` resource."""
    module = typ.split(":")[1].split("/")[0]
    kind = typ.rsplit(":", 1)[-1]
    region, account = world.region, world.aws_account_id
    if typ in ML_OUTPUTS:
        return ML_OUTPUTS[typ](name, inputs, world)
    if typ == "aws:s3/bucket:Bucket":
        bucket = inputs.get("bucket") or _auto_name(name, typ)
        return {
            "__id": bucket,
            "bucket": bucket,
            "arn": f"arn:aws:s3:::{bucket}",
            "bucketDomainName": f"{bucket}.s3.amazonaws.com",
            "bucketRegionalDomainName": f"{bucket}.s3.{region}.amazonaws.com",
            "region": region,
        }
    if typ == "aws:kms/key:Key":
        key_id = _uuid(typ, name)
        return {"__id": key_id, "keyId": key_id, "arn": f"arn:aws:kms:{region}:{account}:key/{key_id}"}
    if typ == "aws:kms/alias:Alias":
        alias = inputs.get("name") or f"alias/{name}"
        return {"__id": alias, "arn": f"arn:aws:kms:{region}:{account}:{alias}"}
    physical = inputs.get("name") or _auto_name(name, typ)
    if module == "iam":
        return {
            "__id": physical,
            "name": physical,
            "arn": f"arn:aws:iam::{account}:{kind[0].lower() + kind[1:]}/{physical}",
            "uniqueId": f"AROA{_suffix(typ, name, length=16).upper()}",
        }
    return {
        "name": physical,
        "arn": f"arn:aws:{module}:{region}:{account}:{kind.lower()}/{physical}",
    }


INVOKES = {
    "aws:index/getCallerIdentity:getCallerIdentity": lambda args, w: {
        "accountId": w.aws_account_id,
        "arn": f"arn:aws:iam::{w.aws_account_id}:user/mlfabric-offline",
        "userId": "AIDAOFFLINEPLAN",
        "id": w.aws_account_id,
    },
    "aws:index/getRegion:getRegion": lambda args, w: {
        "name": w.region,
        "region": w.region,
        "id": w.region,
        "endpoint": f"ec2.{w.region}.amazonaws.com",
        "description": w.region,
    },
    "aws:index/getPartition:getPartition": lambda args, w: {
        "partition": "aws",
        "dnsSuffix": "amazonaws.com",
        "id": "aws",
        "reverseDnsPrefix": "com.amazonaws",
    },
    "aws:index/getAvailabilityZones:getAvailabilityZones": lambda args, w: {
        "names": [f"{w.region}{z}" for z in "abcdef"],
        "zoneIds": [f"use1-az{i}" for i in range(1, 7)],
        "id": w.region,
    },
}
