"""Experiment tracking on GCP: an MLflow tracking server on Cloud Run, its backend store in a private
Cloud SQL for PostgreSQL instance, its artifacts in the platform's artifacts bucket.

Creates (children of the ``mlfabric:tracking:GcpTracking`` component, logical names
``<platform>-tracking-*``):

- ``gcp:projects/service:Service`` for Cloud Run, Cloud SQL Admin, Service Networking and Cloud KMS;
- its own key ring and key ``<platform>-tracking`` (``common.concern_key``: the platform's rotation,
  protected in prod) and the Cloud SQL and Cloud Run agents' ``roles/cloudkms.cryptoKeyEncrypterDecrypter``
  on it. Its own key, not the storage key: a second grant of the same agent on the storage key (serving
  holds the Cloud Run agent's) would be one IAM binding owned by two resources, and deleting either
  would revoke it for both;
- on a network the platform creates, private services access for Cloud SQL: a
  ``gcp:compute/globalAddress:GlobalAddress`` (``VPC_PEERING``, an internal /20 GCP picks) and a
  ``gcp:servicenetworking/connection:Connection`` peering it into the platform VPC. On an existing
  network (``network.existing_network_id``) that peering is the network owner's: it must exist;
- ``gcp:serviceaccount/account:Account`` ``<platform>-<environment>-mlflow``, the server's identity:
  ``roles/storage.objectUser`` on the artifacts bucket only (``gcp:storage/bucketIAMMember``) and
  ``roles/cloudsql.client`` + ``roles/cloudsql.instanceUser`` conditioned on the tracking instance's
  name (project ``IAMMember`` with an IAM condition: Cloud SQL has no instance-level IAM policy);
- ``gcp:sql/databaseInstance:DatabaseInstance`` ``<platform>-<environment>-mlflow``: PostgreSQL 16,
  Enterprise edition, a custom tier by ``tracking.size``, private IP only on the platform VPC (no
  public IPv4), encrypted connections only, CMEK, automated backups with point-in-time recovery (30
  kept in prod, 7 elsewhere), IAM database authentication on, deletion protection (GCP's and Pulumi's)
  in prod, regional availability in prod;
- ``gcp:sql/database:Database`` ``mlflow`` and ``gcp:sql/user:User``: the service account as an IAM
  database user (``CLOUD_IAM_SERVICE_ACCOUNT``) with ``cloudsqlsuperuser`` in this instance (MLflow
  creates and migrates its schema). **No password exists**: the server's Cloud SQL Auth Proxy sidecar
  logs in with the service account's IAM token (``--auto-iam-authn``) over the private IP, so nothing
  is stored in Secret Manager. (A generated password would need a random-password provider, which the
  installed SDKs do not include; a password made by the program would appear in every plan.)
- ``gcp:cloudrunv2/service:Service`` ``<platform>-<environment>-mlflow``: ingress internal only (the
  platform VPC, e.g. notebooks and GKE pods, never the internet), IAM-only invocation (no
  ``allUsers``), CMEK, direct VPC egress to private ranges through the platform subnet, two instances
  at least in prod, two containers: MLflow (``mlflow server`` with ``--artifacts-destination
  gs://<artifacts>/mlflow --serve-artifacts``, so clients never need bucket access) and the Cloud SQL
  Auth Proxy (``--private-ip --auto-iam-authn``);
- two ``gcp:monitoring/alertPolicy:AlertPolicy`` on the service (p99 latency above ``LATENCY_P99_MS``,
  5xx above ``monitoring.error_rate_percent``), to every channel of the monitoring concern;
- per team (``teams``) a ``gcp:cloudrunv2/serviceIamMember:ServiceIamMember``: ``roles/run.invoker``
  for the team's service account (its jobs and notebooks log runs). Personas get the tracking server
  through RBAC (``rbac.py``: the ``endpoints`` grant of their template, invoker for data scientists, ML
  engineers and CI; viewer for readers).

``tracking_uri``: the service URL. Clients send an identity token (``Authorization: Bearer``, e.g.
``MLFLOW_TRACKING_TOKEN=$(gcloud auth print-identity-token)``) from inside the VPC.

What a plan cannot prove: that the pinned images start (see ``MLFLOW_IMAGE``), that the IAM
conditions are honoured by Cloud SQL, that MLflow migrates its schema as the IAM user.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Final

import pulumi
import pulumi_gcp as gcp

from mlfabric.components.concerns import TrackingOutputs
from mlfabric.components.context import PlatformContext
from mlfabric.components.gcp.alerts import (
    RUN_LATENCIES,
    RUN_REQUESTS,
    Aggregation,
    Alerts,
    alert_channels,
    metric_filter,
    threshold,
)
from mlfabric.components.gcp.common import (
    KMS_API,
    account_id,
    agent_key_user,
    concern_key,
    enable_apis,
    project_id,
    tracking_service_name,
)
from mlfabric.components.spec import TrackingSpec

RUN_API: Final = "run.googleapis.com"
SQL_API: Final = "sqladmin.googleapis.com"
SERVICE_NETWORKING_API: Final = "servicenetworking.googleapis.com"
ARTIFACTS_BUCKET: Final = "artifacts"
ARTIFACTS_PREFIX: Final = "mlflow"
DATABASE: Final = "mlflow"
POSTGRES_VERSION: Final = "POSTGRES_16"
# Custom tiers (db-custom-<vCPUs>-<MiB>) exist in the Enterprise edition only
# (https://cloud.google.com/sql/docs/postgres/instance-settings, checked 2026-12-01).
SQL_EDITION: Final = "ENTERPRISE"
SQL_SUPERUSER_ROLE: Final = "cloudsqlsuperuser"
IAM_AUTH_FLAG: Final = "cloudsql.iam_authentication"
PEERING_PREFIX_LENGTH: Final = 20
RUN_INVOKER: Final = "roles/run.invoker"
OBJECT_USER: Final = "roles/storage.objectUser"
SQL_ROLES: Final = ("roles/cloudsql.client", "roles/cloudsql.instanceUser")
CONTAINER_PORT: Final = 8080
PROXY_PORT: Final = 5432
# The server's p99 alert: logging calls and UI pages, slower than any model endpoint should be (a
# choice, not a published figure); its 5xx alert uses monitoring.error_rate_percent.
LATENCY_P99_MS: Final = 5000
_ALERT_DURATION: Final = "300s"
# MLflow's image with its extras (PostgreSQL driver, GCS client): the "VERSION-full" variant of
# https://github.com/mlflow/mlflow/blob/master/docker/README.md; release tags are v-prefixed
# (ghcr.io/mlflow/mlflow:v3.14.0 is used in public deployments). No source states a digest, so it is
# pinned by tag: check the tag exists and pin it by digest before deploying. Cloud Run runs public
# GitHub Container Registry images directly (https://docs.cloud.google.com/run/docs/deploying).
MLFLOW_IMAGE: Final = "ghcr.io/mlflow/mlflow:v3.9.0-full"
# The Cloud SQL Auth Proxy v2 (https://github.com/GoogleCloudPlatform/cloud-sql-proxy: flags --private-ip,
# --auto-iam-authn); 2.14.1 is a released tag used in public deployments; pinned by tag, no digest found.
PROXY_IMAGE: Final = "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.1"


# The proxy sidecar's share of an instance; MLflow gets the rest.
PROXY_CPU: Final = 1
PROXY_MEMORY: Final = "512Mi"


@dataclass(frozen=True)
class TrackingSize:
    """What one ``tracking.size`` is on GCP. An instance's vCPUs (MLflow's plus the proxy's one) are a
    count Cloud Run offers (2, 4, 6; spec_rules.CLOUD_RUN_CPUS), its memory within 4 GiB per vCPU."""

    cpu: int
    memory_gib: int
    max_instances: int
    sql_tier: str


SIZES: Final[dict[str, TrackingSize]] = {
    "small": TrackingSize(1, 2, 2, "db-custom-1-3840"),
    "medium": TrackingSize(3, 6, 4, "db-custom-2-7680"),
    "large": TrackingSize(5, 12, 8, "db-custom-4-15360"),
}


def iam_database_user(email: str) -> str:
    """A service account's PostgreSQL user name: its email without ``.gserviceaccount.com``
    (https://cloud.google.com/sql/docs/postgres/add-manage-iam-users)."""
    return email.removesuffix(".gserviceaccount.com")


def backend_store_uri(email: str) -> str:
    """MLflow's backend store: the IAM user through the proxy on localhost (no password)."""
    user = iam_database_user(email).replace("@", "%40")
    return f"postgresql://{user}@127.0.0.1:{PROXY_PORT}/{DATABASE}"


def instance_condition(project: str, instance: str) -> str:
    """An IAM condition true for the tracking instance only."""
    return f'resource.name == "projects/{project}/instances/{instance}"'


def _bucket(names: dict[str, str]) -> str:
    return names[ARTIFACTS_BUCKET]


def _team_member(team: str, teams: dict[str, dict[str, str]]) -> str:
    return f"serviceAccount:{teams[team]['identity']}"


class GcpTracking(TrackingOutputs):
    """MLflow on Cloud Run (internal, IAM-only) with a private, CMEK Cloud SQL backend store."""

    type_token = "mlfabric:tracking:GcpTracking"
    needs = ("network", "storage", "teams", "monitoring")

    def __init__(self, name: str, spec: TrackingSpec, ctx: PlatformContext,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        # The spec rules refused tracking without a network or an artifacts bucket (spec_rules.py).
        super().__init__(name, spec, ctx, opts)
        assert ctx.network is not None and ctx.storage is not None, "tracking needs network and storage"
        self._logical = f"{name}-tracking"
        # Static (known at declaration): what RBAC grants personas on.
        self.service_name = tracking_service_name(ctx.base_name)
        self._size = SIZES[spec.size]
        self._project = project_id(ctx, self)
        apis = enable_apis(self._logical, ctx, self, RUN_API, SQL_API, SERVICE_NETWORKING_API, KMS_API)
        # Its own key (the platform's rotation): the Cloud Run and Cloud SQL agents hold grants on it alone,
        # so no other concern's grant on the storage key is ever shared (one binding, two owners).
        self._key = concern_key(name, "tracking", ctx, self, apis[KMS_API]).key
        self._bucket_name = ctx.storage.bucket_names.apply(_bucket)
        account = self._identity()
        instance = self._database(apis, account)
        service = self._server(apis, account, instance)
        self._team_invokers(service)
        self._alerts(service)
        self.tracking_uri = service.uri
        self.register_contract()

    def _identity(self) -> gcp.serviceaccount.Account:
        ctx = self._ctx
        account = gcp.serviceaccount.Account(
            self._logical,
            account_id=account_id(ctx.base_name, "mlflow"),
            display_name=f"mlfabric {ctx.base_name}: MLflow tracking server",
            description=f"Identity of the MLflow server: its Cloud SQL database (IAM login) and the "
            f"{ARTIFACTS_PREFIX}/ artifacts of the artifacts bucket.",
            project=ctx.account,
            opts=self._child,
        )
        gcp.storage.BucketIAMMember(
            f"{self._logical}-artifacts",
            bucket=self._bucket_name,
            role=OBJECT_USER,
            member=account.member,
            opts=self._child,
        )
        return account

    def _private_services_access(self, network_id: pulumi.Output[str],
                                 api: gcp.projects.Service) -> list[pulumi.Resource]:
        """The peering Cloud SQL's private IP comes from (only on a network the platform owns)."""
        ctx = self._ctx
        if ctx.spec is not None and ctx.spec.network.existing_network_id is not None:
            return []
        peering_range = gcp.compute.GlobalAddress(
            f"{self._logical}-sql-range",
            project=ctx.account,
            description=f"mlfabric {ctx.base_name}: private services access (Cloud SQL)",
            purpose="VPC_PEERING",
            address_type="INTERNAL",
            prefix_length=PEERING_PREFIX_LENGTH,
            network=network_id,
            labels=ctx.tags(),
            opts=self._child,
        )
        connection = gcp.servicenetworking.Connection(
            f"{self._logical}-sql-peering",
            network=network_id,
            service=SERVICE_NETWORKING_API,
            reserved_peering_ranges=[peering_range.name],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[api]),
        )
        return [connection]

    def _database(self, apis: dict[str, gcp.projects.Service],
                  account: gcp.serviceaccount.Account) -> gcp.sql.DatabaseInstance:
        ctx = self._ctx
        assert ctx.network is not None and ctx.storage is not None
        key = self._key.id
        after: list[pulumi.Resource] = [
            apis[SQL_API],
            agent_key_user(self._logical, "sql", SQL_API, key, ctx, self, apis[SQL_API]),
            *self._private_services_access(ctx.network.network_id, apis[SERVICE_NETWORKING_API]),
        ]
        prod = ctx.environment == "prod"
        instance = gcp.sql.DatabaseInstance(
            self._logical,
            name=f"{ctx.base_name}-mlflow",
            project=ctx.account,
            region=ctx.region,
            database_version=POSTGRES_VERSION,
            encryption_key_name=key,
            deletion_protection=ctx.deletion_protection,
            settings=gcp.sql.DatabaseInstanceSettingsArgs(
                tier=self._size.sql_tier,
                edition=SQL_EDITION,
                availability_type="REGIONAL" if prod else "ZONAL",
                disk_type="PD_SSD",
                disk_autoresize=True,
                deletion_protection_enabled=ctx.deletion_protection,
                ip_configuration=gcp.sql.DatabaseInstanceSettingsIpConfigurationArgs(
                    ipv4_enabled=False,
                    private_network=ctx.network.network_id,
                    ssl_mode="ENCRYPTED_ONLY",
                ),
                backup_configuration=gcp.sql.DatabaseInstanceSettingsBackupConfigurationArgs(
                    enabled=True,
                    point_in_time_recovery_enabled=True,
                    transaction_log_retention_days=7,
                    backup_retention_settings=gcp.sql.DatabaseInstanceSettingsBackupConfigurationBackupRetentionSettingsArgs(
                        retained_backups=30 if prod else 7,
                    ),
                ),
                database_flags=[gcp.sql.DatabaseInstanceSettingsDatabaseFlagArgs(name=IAM_AUTH_FLAG, value="on")],
                user_labels=ctx.tags({"mlfabric-tracking": "mlflow"}),
            ),
            opts=ctx.stateful(self, depends_on=after),
        )
        gcp.sql.Database(
            self._logical,
            name=DATABASE,
            project=ctx.account,
            instance=instance.name,
            # The runs outlive a destroy in prod (the instance is protected there anyway).
            deletion_policy="ABANDON" if ctx.deletion_protection else "DELETE",
            opts=ctx.stateful(self),
        )
        gcp.sql.User(
            self._logical,
            name=account.email.apply(iam_database_user),
            project=ctx.account,
            instance=instance.name,
            type="CLOUD_IAM_SERVICE_ACCOUNT",
            database_roles=[SQL_SUPERUSER_ROLE],
            # PostgreSQL users that own objects cannot be deleted through the API.
            deletion_policy="ABANDON",
            opts=self._child,
        )
        condition = pulumi.Output.all(self._project, instance.name).apply(lambda pi: instance_condition(*pi))
        for role in SQL_ROLES:
            gcp.projects.IAMMember(
                f"{self._logical}-{role.removeprefix('roles/').replace('.', '-')}",
                project=self._project,
                role=role,
                member=account.member,
                condition=gcp.projects.IAMMemberConditionArgs(
                    title=f"mlfabric {ctx.base_name}: tracking database only"[:100],
                    description=f"{role} on the MLflow Cloud SQL instance of {ctx.base_name} only",
                    expression=condition,
                ),
                opts=self._child,
            )
        return instance

    def _server(self, apis: dict[str, gcp.projects.Service], account: gcp.serviceaccount.Account,
                instance: gcp.sql.DatabaseInstance) -> gcp.cloudrunv2.Service:
        ctx, size = self._ctx, self._size
        assert ctx.network is not None
        labels = ctx.tags({"mlfabric-tracking": "mlflow"})
        run_agent = agent_key_user(self._logical, "run", RUN_API, self._key.id, ctx, self, apis[RUN_API])
        mlflow = gcp.cloudrunv2.ServiceTemplateContainerArgs(
            name="mlflow",
            image=MLFLOW_IMAGE,
            commands=["mlflow"],
            args=pulumi.Output.all(account.email, self._bucket_name).apply(lambda eb: [
                "server", "--host", "0.0.0.0", "--port", str(CONTAINER_PORT),
                "--backend-store-uri", backend_store_uri(eb[0]),
                "--artifacts-destination", f"gs://{eb[1]}/{ARTIFACTS_PREFIX}",
                "--serve-artifacts",
            ]),
            ports=gcp.cloudrunv2.ServiceTemplateContainerPortsArgs(container_port=CONTAINER_PORT),
            resources=gcp.cloudrunv2.ServiceTemplateContainerResourcesArgs(
                limits={"cpu": str(size.cpu), "memory": f"{size.memory_gib}Gi"}, cpu_idle=True,
                startup_cpu_boost=True,
            ),
            depends_ons=["cloud-sql-proxy"],
        )
        proxy = gcp.cloudrunv2.ServiceTemplateContainerArgs(
            name="cloud-sql-proxy",
            image=PROXY_IMAGE,
            args=instance.connection_name.apply(lambda connection: [
                "--private-ip", "--auto-iam-authn", "--structured-logs", f"--port={PROXY_PORT}", connection,
            ]),
            resources=gcp.cloudrunv2.ServiceTemplateContainerResourcesArgs(
                limits={"cpu": str(PROXY_CPU), "memory": PROXY_MEMORY}, cpu_idle=True,
            ),
        )
        return gcp.cloudrunv2.Service(
            self._logical,
            name=self.service_name,
            project=ctx.account,
            location=ctx.region,
            description=f"mlfabric {ctx.base_name}: MLflow tracking server",
            # Reachable from the platform VPC only, by IAM-authenticated callers (roles/run.invoker).
            ingress="INGRESS_TRAFFIC_INTERNAL_ONLY",
            invoker_iam_disabled=False,
            deletion_protection=ctx.deletion_protection,
            scaling=gcp.cloudrunv2.ServiceScalingArgs(
                # prod keeps two instances (a zone may fail; a cold MLflow start takes seconds), as endpoints do.
                min_instance_count=2 if ctx.environment == "prod" else 0, max_instance_count=size.max_instances,
            ),
            template=gcp.cloudrunv2.ServiceTemplateArgs(
                service_account=account.email,
                encryption_key=self._key.id,
                execution_environment="EXECUTION_ENVIRONMENT_GEN2",
                containers=[mlflow, proxy],
                vpc_access=gcp.cloudrunv2.ServiceTemplateVpcAccessArgs(
                    network_interfaces=[gcp.cloudrunv2.ServiceTemplateVpcAccessNetworkInterfaceArgs(
                        network=ctx.network.network_id,
                        subnetwork=ctx.network.private_subnet_ids.apply(lambda ids: ids[0]),
                    )],
                    egress="PRIVATE_RANGES_ONLY",
                ),
                labels=labels,
            ),
            labels=labels,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[apis[RUN_API], run_agent, instance]),
        )

    def _alerts(self, service: gcp.cloudrunv2.Service) -> None:
        """p99 latency and 5xx rate of the server, to every channel of the monitoring concern."""
        ctx = self._ctx
        alerts = Alerts(ctx, self, alert_channels(ctx.monitoring))
        revisions = service.name.apply(
            lambda name: f'resource.type="cloud_run_revision" AND resource.labels.service_name="{name}"'
        )
        alerts.policy(
            f"{self._logical}-p99-latency",
            f"{self.service_name}: p99 latency above {LATENCY_P99_MS} ms",
            [threshold("p99 request latency", metric_filter(RUN_LATENCIES, revisions), comparison="COMPARISON_GT",
                       value=LATENCY_P99_MS, duration=_ALERT_DURATION,
                       over=Aggregation("ALIGN_DELTA", "REDUCE_PERCENTILE_99", ()))],
            documentation=f"The MLflow tracking server {self.service_name} answered slower than {LATENCY_P99_MS} ms "
            "(p99) for 5 minutes: check its Cloud SQL instance's CPU and connections.",
        )
        error_rate = ctx.monitoring_spec.error_rate_percent
        alerts.policy(
            f"{self._logical}-error-rate",
            f"{self.service_name}: 5xx above {error_rate:g}%",
            [threshold("5xx responses per request", metric_filter(RUN_REQUESTS, revisions,
                                                                  'metric.labels.response_code_class="5xx"'),
                       comparison="COMPARISON_GT", value=error_rate / 100, duration=_ALERT_DURATION,
                       over=Aggregation("ALIGN_RATE", "REDUCE_SUM", ()),
                       denominator=metric_filter(RUN_REQUESTS, revisions))],
            documentation=f"The MLflow tracking server {self.service_name} failed more than {error_rate:g}% of "
            "requests for 5 minutes: check its logs and the Cloud SQL Auth Proxy container's.",
            severity="ERROR",
        )

    def _team_invokers(self, service: gcp.cloudrunv2.Service) -> None:
        """Every team's service account may call the server (its jobs and notebooks log runs)."""
        ctx = self._ctx
        if ctx.teams is None or ctx.spec is None:
            return
        for team in ctx.spec.teams:
            gcp.cloudrunv2.ServiceIamMember(
                f"{self._logical}-invoker-{team.name}",
                project=ctx.account,
                location=ctx.region,
                name=service.name,
                role=RUN_INVOKER,
                member=ctx.teams.teams.apply(functools.partial(_team_member, team.name)),
                opts=self._child,
            )
