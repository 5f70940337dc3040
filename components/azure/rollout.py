"""How an Azure ML endpoint moves to a new version: blue/green with a staged traffic shift (SDK-free).

Every serving version (``main``, ``challenger``, ``shadow``) runs in a deployment named after its
image (``main-<hash>``): a new image is a new deployment beside the one serving, never an in-place
update. What one ``pulumi up`` does when an image changes:

1. creates the new deployment (0 % of traffic: Azure ML gives a new deployment none);
2. runs the endpoint's rollout script (an Azure deployment script, ``resources:AzureCliScript``,
   which ``pulumi up`` waits for), which shifts live traffic from whatever serves now to the spec's
   split in ``steps`` — ``all-at-once``: 100 %; ``canary``: ``canary_percent`` then 100 %;
   ``linear``: ``canary_percent`` more each step — watching the endpoint's metric alerts for
   ``bake_minutes`` after each step. An alert that fires puts the previous split back and fails the
   script, so ``pulumi up`` fails and keeps the previous deployment;
3. after every step baked clean, Pulumi deletes the previous deployment (a resource no longer
   declared is deleted at the end of a successful update, after everything that was created).

A declarative program cannot hold a shift across several ``pulumi up`` runs, or read which
deployment serves now: the script reads the endpoint's current traffic when it runs, in Azure.
Only a real subscription proves the script's timing and rollback (README: limits).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Final

from mlfabric.components import naming

if TYPE_CHECKING:
    from mlfabric.components.spec import TrafficSpec

# A deployment script runs at most one day (timeout P1D); an hour is kept for the container to start,
# the endpoint updates and the rollback.
SCRIPT_TIMEOUT_MINUTES: Final = 1440
MAX_ROLLOUT_MINUTES: Final = SCRIPT_TIMEOUT_MINUTES - 60
# Azure CLI version of the script's container (mcr.microsoft.com/azure-cli), pinned.
AZ_CLI_VERSION: Final = "2.67.0"
ENDPOINT_API_VERSION: Final = "2024-10-01"
ALERTS_API_VERSION: Final = "2019-05-05-preview"


def deployment_name(variant: str, image: str) -> str:
    """The Azure ML deployment of ``variant`` running ``image`` (3-32 characters, a letter first)."""
    return f"{variant}-{naming.short_hash(image, length=8)}"


def steps(traffic: TrafficSpec) -> list[int]:
    """The share (percent) of the new split live after each step of a rollout."""
    if traffic.strategy == "all-at-once":
        return [100]
    if traffic.strategy == "canary":
        return [traffic.canary_percent, 100]
    shares = list(range(traffic.canary_percent, 100, traffic.canary_percent))
    return [*shares, 100]


def rollout_minutes(traffic: TrafficSpec) -> int:
    """How long a rollout runs at most: every step bakes ``bake_minutes``."""
    return len(steps(traffic)) * traffic.bake_minutes


def script_timeout(traffic: TrafficSpec) -> str:
    """The script's ISO 8601 timeout: the rollout plus an hour, within Azure's one day."""
    return f"PT{min(SCRIPT_TIMEOUT_MINUTES, rollout_minutes(traffic) + 60)}M"


def environment(
    endpoint_id: str, live: dict[str, int], mirror: dict[str, int], traffic: TrafficSpec, alert_ids: list[str]
) -> dict[str, str]:
    """The script's environment: what it shifts to, in which steps, watching which alerts."""
    return {
        "ENDPOINT_ID": endpoint_id,
        "ENDPOINT_API_VERSION": ENDPOINT_API_VERSION,
        "ALERTS_API_VERSION": ALERTS_API_VERSION,
        "TARGET_TRAFFIC": json.dumps(live, sort_keys=True),
        "TARGET_MIRROR": json.dumps(mirror, sort_keys=True),
        "STEPS": " ".join(str(s) for s in steps(traffic)),
        "BAKE_MINUTES": str(traffic.bake_minutes),
        "ALERT_RULE_IDS": " ".join(alert_ids),
    }


# The rollout program: runs in the Azure CLI container (python3 ships with the az CLI), logged in as
# the script's identity; `az rest` talks to ARM, so no CLI extension is needed. Its helpers are pure
# functions (tests exec the program with another __name__ and call them).
PROGRAM: Final = r"""
import datetime, json, os, subprocess, sys, time


def az(*args):
    # A role assignment made in the same update can take minutes to reach ARM: retry authorization errors.
    for attempt in range(10):
        done = subprocess.run(["az", "rest", "--only-show-errors", *args], capture_output=True, text=True)
        if done.returncode == 0:
            return json.loads(done.stdout) if done.stdout.strip() else {}
        if "AuthorizationFailed" not in done.stderr or attempt == 9:
            sys.exit(f"az rest {args[1]} {args[3]} failed: {done.stderr.strip()}")
        time.sleep(30)


def endpoint_url(env):
    return f"https://management.azure.com{env['ENDPOINT_ID']}?api-version={env['ENDPOINT_API_VERSION']}"


def put(url, traffic, mirror):
    # Azure ML takes traffic only in a full PUT of the endpoint: read it, keep what is declared, set the split.
    endpoint = az("--method", "get", "--url", url)
    body = {k: endpoint[k] for k in ("location", "tags", "kind") if endpoint.get(k) is not None}
    body["identity"] = {"type": (endpoint.get("identity") or {}).get("type", "SystemAssigned")}
    props = {k: v for k, v in endpoint["properties"].items()
             if k in ("authMode", "description", "publicNetworkAccess", "compute")}
    body["properties"] = {**props, "traffic": traffic, "mirrorTraffic": mirror}
    az("--method", "put", "--url", url, "--body", json.dumps(body))
    for _ in range(120):
        state = az("--method", "get", "--url", url)["properties"].get("provisioningState")
        if state == "Succeeded":
            return
        if state in ("Failed", "Canceled"):
            sys.exit(f"endpoint update {state}")
        time.sleep(15)
    sys.exit("endpoint update did not finish in 30 minutes")


def mix(share, new, old):
    # share % of the new split and the rest of the previous one; rounding goes to the largest new entry
    mixed = {}
    for name, pct in old.items():
        mixed[name] = mixed.get(name, 0) + pct * (100 - share) // 100
    for name, pct in new.items():
        mixed[name] = mixed.get(name, 0) + pct * share // 100
    rest = 100 - sum(mixed.values())
    if rest and new:
        top = max(new, key=new.get)
        mixed[top] = mixed.get(top, 0) + rest
    return {k: v for k, v in mixed.items() if v > 0}


def fired(alerts, rules, since):
    # the first of ``rules`` with an alert that started at or after ``since`` (ISO 8601, UTC)
    wanted = {r.lower() for r in rules}
    for alert in alerts:
        essentials = (alert.get("properties") or {}).get("essentials") or {}
        if essentials.get("alertRule", "").lower() in wanted and essentials.get("startDateTime", "") >= since:
            return essentials["alertRule"]
    return None


def main(env):
    url = endpoint_url(env)
    target, mirror = json.loads(env["TARGET_TRAFFIC"]), json.loads(env["TARGET_MIRROR"])
    current = az("--method", "get", "--url", url)["properties"]
    previous = {k: v for k, v in (current.get("traffic") or {}).items() if v > 0}
    previous_mirror = current.get("mirrorTraffic") or {}
    if not previous or set(previous) <= set(target):
        # first deploy, or the same deployments: nothing serving has to be moved off in steps
        put(url, target, mirror)
        return
    subscription = env["ENDPOINT_ID"].split("/")[2]
    alerts_url = (f"https://management.azure.com/subscriptions/{subscription}/providers/Microsoft.AlertsManagement"
                  f"/alerts?api-version={env['ALERTS_API_VERSION']}&targetResource={env['ENDPOINT_ID']}&timeRange=1d")
    for share in (int(s) for s in env["STEPS"].split()):
        put(url, mix(share, target, previous), mirror if share == 100 else previous_mirror)
        since = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        time.sleep(int(env["BAKE_MINUTES"]) * 60)
        rule = fired(az("--method", "get", "--url", alerts_url).get("value", []), env["ALERT_RULE_IDS"].split(), since)
        if rule:
            put(url, previous, previous_mirror)
            sys.exit(f"rolled back at {share}%: alert {rule} fired while baking; traffic is back on {previous}")
    print(json.dumps({"traffic": target, "mirrorTraffic": mirror}))


if __name__ == "__main__":
    main(os.environ)
"""

SCRIPT: Final = "#!/bin/bash\nset -euo pipefail\npython3 - <<'PY'\n" + PROGRAM.lstrip("\n") + "PY\n"
