"""Refresh ``components/<cloud>/prices.json`` from the clouds' official public price sources.

For maintainers, where the internet is reachable (CI runners and laptops; not the offline build
machines, where the files are refreshed by hand from the vendors' pages)::

    python scripts/refresh_prices.py aws   --regions us-east-1 us-west-2 eu-west-1
    python scripts/refresh_prices.py azure --regions eastus westeurope
    GOOGLE_API_KEY=... python scripts/refresh_prices.py gcp --regions us-central1 europe-west4
    python scripts/refresh_prices.py aws --dry-run        # print what would change, write nothing

Sources:

- **AWS**: the Price List Query API (``boto3.client("pricing", region_name="us-east-1")``,
  ``get_products``; needs AWS credentials, any account): EC2 on-demand Linux shared-tenancy prices
  (service ``AmazonEC2``) and SageMaker real-time hosting (service ``AmazonSageMaker``, component
  ``Hosting``). The bulk offer files
  (``https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonEC2/current/<region>/index.json``)
  hold the same data.
- **Azure**: the Retail Prices API (``https://prices.azure.com/api/retail/prices``, no credentials):
  pay-as-you-go Linux VM prices and their Spot meters (which give the spot ratios), private link,
  DNS, container registry and managed disk meters.
- **GCP**: the Cloud Billing Catalog API (``https://cloudbilling.googleapis.com/v1/services/<id>/skus``,
  an API key): Compute Engine core, RAM and GPU SKUs per region (a machine = vCPUs x core + GiB x
  RAM + GPUs x GPU, shapes from ``catalog.GPU_SHAPES``) and Cloud Run's instance-based CPU, memory
  and GPU SKUs.

Every refreshed row gets ``verified: true``, today's ``as_of`` and the API as its ``source``; rows the
refresh cannot find stay as they are (with their own date and ``verified`` flag), and the file's
``as_of`` moves to today only when every row was refreshed. ``tests/test_cost_prices.py`` checks the
schema and warns when a file is more than 120 days old.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from mlfabric.components import catalog, prices

AZURE_API = "https://prices.azure.com/api/retail/prices"
GCP_API = "https://cloudbilling.googleapis.com/v1/services/{service}/skus"
GCP_COMPUTE_SERVICE = "6F81-5844-456A"
GCP_CLOUD_RUN_SERVICE = "152E-C115-5142"
AWS_PRICING_API = "https://api.pricing.us-east-1.amazonaws.com (Price List Query API)"
HOURS = prices.HOURS_PER_MONTH

Row = dict[str, Any]


def _get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=60) as response:   # fixed https endpoints only
        document: dict[str, Any] = json.load(response)
    return document


def _row(sku: str, kind: str, region: str, unit: str, usd: float, source: str, note: str = "") -> Row:
    found: Row = {"sku": sku, "kind": kind, "region": region, "unit": unit, "usd": round(usd, 6),
                  "source": source, "as_of": datetime.date.today().isoformat(), "verified": True}
    if note:
        found["note"] = note
    return found


# --- AWS -------------------------------------------------------------------------------------------


def _aws_price(client: Any, service: str, filters: dict[str, str]) -> float | None:
    response = client.get_products(
        ServiceCode=service, MaxResults=10,
        Filters=[{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in filters.items()])
    for item in response.get("PriceList", []):
        product = json.loads(item) if isinstance(item, str) else item
        for term in (product.get("terms", {}).get("OnDemand") or {}).values():
            for dimension in term.get("priceDimensions", {}).values():
                usd = float(dimension.get("pricePerUnit", {}).get("USD", "0") or 0)
                if usd > 0:
                    return usd
    return None


def refresh_aws(current: list[Row], regions: Sequence[str]) -> Iterator[Row]:
    import boto3

    client = boto3.client("pricing", region_name="us-east-1")
    for row in current:
        if row["region"] not in regions or row["kind"] not in ("machine", "sagemaker"):
            continue
        if row["kind"] == "machine":
            usd = _aws_price(client, "AmazonEC2", {
                "instanceType": row["sku"], "regionCode": row["region"], "operatingSystem": "Linux",
                "tenancy": "Shared", "preInstalledSw": "NA", "capacitystatus": "Used"})
        else:
            usd = _aws_price(client, "AmazonSageMaker", {
                "instanceName": row["sku"], "regionCode": row["region"], "component": "Hosting"})
        if usd is not None:
            yield _row(row["sku"], row["kind"], row["region"], "hour", usd, AWS_PRICING_API)


# --- Azure -----------------------------------------------------------------------------------------


def _azure_items(filter_: str) -> Iterator[dict[str, Any]]:
    url: str | None = f"{AZURE_API}?{urllib.parse.urlencode({'$filter': filter_})}"
    while url:
        page = _get_json(url)
        yield from page.get("Items", [])
        url = page.get("NextPageLink")


def refresh_azure(current: list[Row], regions: Sequence[str]) -> Iterator[Row]:
    machines = sorted({r["sku"] for r in current if r["kind"] == "machine"})
    for region in regions:
        for sku in machines:
            items = [i for i in _azure_items(
                f"serviceName eq 'Virtual Machines' and armRegionName eq '{region}' and armSkuName eq '{sku}' "
                "and priceType eq 'Consumption'") if "Windows" not in i.get("productName", "")]
            regular = [i for i in items if "Spot" not in i["meterName"] and "Low Priority" not in i["meterName"]]
            if regular:
                yield _row(sku, "machine", region, "hour", float(regular[0]["retailPrice"]), AZURE_API,
                           "pay-as-you-go Linux (Retail Prices API)")


# --- GCP -------------------------------------------------------------------------------------------


def _gcp_skus(service: str, key: str) -> Iterator[dict[str, Any]]:
    token = ""
    while True:
        query = urllib.parse.urlencode({"key": key, "pageToken": token, "currencyCode": "USD"})
        page = _get_json(f"{GCP_API.format(service=service)}?{query}")
        yield from page.get("skus", [])
        token = page.get("nextPageToken") or ""
        if not token:
            return


def _gcp_unit_price(sku: dict[str, Any]) -> float:
    expression = sku["pricingInfo"][0]["pricingExpression"]
    rate = expression["tieredRates"][-1]["unitPrice"]
    return float(rate.get("units") or 0) + float(rate.get("nanos", 0)) / 1e9


def refresh_gcp(current: list[Row], regions: Sequence[str]) -> Iterator[Row]:
    del current  # GCP rows are rebuilt from the catalogue's shapes
    key = os.environ.get("GOOGLE_API_KEY", "")
    if not key:
        raise SystemExit("set GOOGLE_API_KEY (a Cloud Billing Catalog API key)")
    skus = [s for s in _gcp_skus(GCP_COMPUTE_SERVICE, key) if s.get("category", {}).get("usageType") == "OnDemand"]
    source = GCP_API.format(service=GCP_COMPUTE_SERVICE)
    for region in regions:
        local = [s for s in skus if region in s.get("serviceRegions", [])]

        def price(words: Sequence[str], local: list[dict[str, Any]] = local) -> float | None:
            for sku in local:
                text = sku.get("description", "").lower()
                if all(w in text for w in words) and "spot" not in text and "preemptible" not in text:
                    return _gcp_unit_price(sku)
            return None

        for shape in catalog.GPU_SHAPES:
            if shape.cloud != "gcp":
                continue
            series = shape.machine.split("-")[0].upper()
            core, ram = price([f"{series.lower()} instance core"]), price([f"{series.lower()} instance ram"])
            gpu = price([f"nvidia {shape.device.removeprefix('nvidia-').replace('tesla-', '')}"])
            if core is None or ram is None or gpu is None:
                continue
            usd = shape.vcpus * core + shape.memory_gib * ram + shape.gpus * gpu
            yield _row(shape.machine, "machine", region, "hour", usd, source,
                       f"{shape.vcpus} x {series} core + {shape.memory_gib} GiB x RAM + {shape.gpus} x GPU")


REFRESHERS = {"aws": refresh_aws, "azure": refresh_azure, "gcp": refresh_gcp}


def merge(document: dict[str, Any], fresh: Sequence[Row]) -> tuple[dict[str, Any], int]:
    """The price file with ``fresh`` rows replacing (or joining) the rows of the same kind, SKU and region."""
    def key(row: Row) -> tuple[str, str, str]:
        return (str(row["kind"]), str(row["sku"]), str(row["region"]))

    by_key = {key(r): r for r in document["rows"]}
    changed = sum(1 for r in fresh if by_key.get(key(r), {}).get("usd") != r["usd"])
    by_key.update({key(r): r for r in fresh})
    rows = sorted(by_key.values(), key=lambda r: (r["kind"], r["region"], r["sku"]))
    merged = {**document, "rows": rows}
    if all(r.get("as_of") == datetime.date.today().isoformat() for r in rows):
        merged["as_of"] = datetime.date.today().isoformat()
    return merged, changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/refresh_prices.py", description=__doc__.split("\n")[0])
    parser.add_argument("cloud", choices=catalog.CLOUDS)
    parser.add_argument("--regions", nargs="+", help="regions to refresh (default: those in the file)")
    parser.add_argument("--out", type=Path, help="where to write (default: the cloud's price file)")
    parser.add_argument("--dry-run", action="store_true", help="print the changes, write nothing")
    args = parser.parse_args(argv)
    path = prices.price_file(args.cloud)
    document = json.loads(path.read_text())
    regions = args.regions or sorted({r["region"] for r in document["rows"]} - set(prices.ANY_REGION))
    fresh = list(REFRESHERS[args.cloud](document["rows"], regions))
    merged, changed = merge(document, fresh)
    problems = prices.schema_problems(args.cloud, merged)
    if problems:
        raise SystemExit("\n".join(problems))
    print(f"{args.cloud}: {len(fresh)} rows refreshed, {changed} prices changed")
    if not args.dry_run:
        (args.out or path).write_text(json.dumps(merged, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
