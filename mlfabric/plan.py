"""The offline plan: the real program under Pulumi's official mock runtime.

``plan_stack`` reads a stack file, validates the spec (a bad spec declares nothing), hands the
stack's config to the runtime exactly as the engine would (``set_all_config`` after ``set_mocks``),
runs ``mlfabric.components.program.run`` — the function ``__main__.py`` runs under ``pulumi up`` — and
records every registration the program makes: urn, type, name, parent, camelCase inputs, protect,
retain-on-delete and dependencies. Recording happens in a ``MockMonitor`` subclass handed to
``set_mocks(monitor=...)``, so the requests recorded are the engine's own wire format.

Each plan runs in a fresh ``contextvars.Context``: the runtime keeps its settings, config and root
stack in context variables, so plans in one process (tests, benchmarks) never see each other.
"""

from __future__ import annotations

import contextvars
import dataclasses
import gc
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from mlfabric import stackfile
from mlfabric.compat import (
    SETTINGS,
    MockMonitor,
    deserialize_properties,
    get_root_resource,
    run_pulumi_func,
    sync_await,
)
from mlfabric.components.spec import SPEC_CONFIG_KEY, PlatformSpec, SpecError, spec_notes
from mlfabric.components.spec.parse import OfflineSpec, parse_spec_offline
from mlfabric.diff import alias_entries
from mlfabric.errors import UsageError
from mlfabric.mocks import PlanMocks, World

PLAN_FORMAT = "mlfabric-plan/1"
SECRET_MASK = "[secret]"
# What a placeholder secret becomes when a check needs a plaintext of some shape (format, length):
# every stand-in contains the placeholder, so plan JSON masks whatever derives from it.
SECRET_STANDINS = (
    stackfile.SECRET_PLACEHOLDER,
    f"{stackfile.SECRET_PLACEHOLDER}@example.invalid",
    f"https://example.invalid/{stackfile.SECRET_PLACEHOLDER}",
)
DEFAULT_PROJECT = "mlfabric"


@dataclass
class ResourceRecord:
    """One registration, as the engine would have received it."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    provider: str
    protect: bool
    retain_on_delete: bool
    id: str | None
    inputs: dict[str, Any]
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    # aliases declared with the resource (a rename keeps its identity through these)
    aliases: list[dict[str, Any]] = field(default_factory=list)


class RecordingMonitor(MockMonitor):
    """The official mock monitor, keeping a record of every RegisterResource request."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.records: list[ResourceRecord] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        custom = bool(request.custom)
        self.records.append(
            ResourceRecord(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent,
                custom=custom,
                provider=request.provider,
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                id=response.id or None,
                inputs=deserialize_properties(request.object) if request.type != "pulumi:pulumi:Stack" else {},
                # The SDK gathers dependencies in sets; sorted, a plan is byte-for-byte repeatable.
                dependencies=sorted(request.dependencies),
                property_dependencies={
                    key: sorted(deps.urns) for key, deps in sorted(request.propertyDependencies.items())
                },
                aliases=alias_entries(request),
            )
        )
        return response


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.levelname.lower()}: {record.getMessage()}")


PROVIDER_PREFIX = "pulumi:providers:"
STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class ResourceCounts:
    """What every summary counts, one definition for plan, check, cost and diff.

    A *cloud resource* is a custom resource that is not a provider (``pulumi:providers:*``): something
    the engine creates in an account. Components (``mlfabric:*`` component resources) and providers are
    counted apart; the root stack resource is not counted.
    """

    cloud_resources: int
    components: int
    providers: int

    MEANING = "cloud resources = custom resources except providers; components and providers counted apart"

    def describe(self) -> str:
        """``158 cloud resources (+8 components, 2 providers)``: the count with what it counts."""
        providers = f"{self.providers} provider{'' if self.providers == 1 else 's'}"
        components = f"{self.components} component{'' if self.components == 1 else 's'}"
        return f"{self.cloud_resources} cloud resource{'' if self.cloud_resources == 1 else 's'} " \
               f"(+{components}, {providers})"

    def to_json(self) -> dict[str, Any]:
        return {"resources": self.cloud_resources, "components": self.components, "providers": self.providers}


def is_provider(record: ResourceRecord) -> bool:
    return record.type.startswith(PROVIDER_PREFIX)


def is_cloud_resource(record: ResourceRecord) -> bool:
    """A custom resource the engine creates in an account (not a provider, not a component)."""
    return record.custom and not is_provider(record)


def count_resources(records: Iterable[ResourceRecord]) -> ResourceCounts:
    """Cloud resources, components and providers among ``records`` (see :class:`ResourceCounts`)."""
    rows = list(records)
    return ResourceCounts(
        cloud_resources=sum(1 for r in rows if is_cloud_resource(r)),
        components=sum(1 for r in rows if not r.custom and r.type != STACK_TYPE),
        providers=sum(1 for r in rows if is_provider(r)),
    )


@dataclass
class Plan:
    """What the program declared, with the spec it came from."""

    project: str
    stack: str
    spec: PlatformSpec
    resources: list[ResourceRecord]
    outputs: dict[str, Any]
    notes: list[str]
    source: str = ""

    @property
    def custom_resources(self) -> list[ResourceRecord]:
        """Cloud resources (not components, not the stack)."""
        return [r for r in self.resources if r.custom]

    @property
    def components(self) -> list[ResourceRecord]:
        return [r for r in self.resources if not r.custom and r.type != STACK_TYPE]

    def of_type(self, type_token: str) -> list[ResourceRecord]:
        return [r for r in self.resources if r.type == type_token]

    def counts(self) -> ResourceCounts:
        return count_resources(self.resources)

    def summary(self) -> dict[str, Any]:
        """Counts as :class:`ResourceCounts` defines them; ``by_type`` lists the cloud resources."""
        return {
            **self.counts().to_json(),
            "counted": ResourceCounts.MEANING,
            "by_type": dict(sorted(Counter(r.type for r in self.resources if is_cloud_resource(r)).items())),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "format": PLAN_FORMAT,
            "project": self.project,
            "stack": self.stack,
            "source": self.source,
            "cloud": self.spec.cloud,
            "region": self.spec.region,
            "environment": self.spec.environment,
            "spec": _mask_secrets(self.spec.model_dump(mode="json")),
            "summary": self.summary(),
            "notes": self.notes,
            "outputs": _mask_secrets(self.outputs),
            "resources": [_mask_secrets(asdict(r)) for r in self.resources],
        }


def _resolve_stack_outputs() -> dict[str, Any]:
    root = get_root_resource()
    outputs: dict[str, Any] = getattr(root, "outputs", {}) or {}

    async def resolve() -> dict[str, Any]:
        resolved: dict[str, Any] = {}
        for name, value in outputs.items():
            output = pulumi.Output.from_input(value)
            is_secret = await output.is_secret()
            resolved[name] = "[secret]" if is_secret else await output.future()
        return resolved

    return sync_await(resolve())


def run_program(
    program: Callable[[], None],
    *,
    project: str,
    stack: str,
    config: dict[str, str],
    secret_keys: list[str],
    world: World,
) -> tuple[list[ResourceRecord], dict[str, Any], list[str]]:
    """Run ``program`` under the mock runtime in a fresh context; return records, outputs, log."""

    def in_fresh_context() -> tuple[list[ResourceRecord], dict[str, Any], list[str]]:
        mocks = PlanMocks(world)
        monitor = RecordingMonitor(mocks)
        logger = logging.getLogger(f"mlfabric.plan.{stack}")
        logger.propagate = False
        collector = _Collector()
        logger.addHandler(collector)
        try:
            pulumi.runtime.set_mocks(
                mocks, project=project, stack=stack, preview=False, logger=logger, monitor=monitor
            )
            pulumi.runtime.set_all_config(config, secret_keys)
            # As pulumi.runtime.test does: a failed earlier run must not leak pending work into this one.
            SETTINGS.rpc_manager.clear()
            SETTINGS.outputs.clear()
            sync_await(run_pulumi_func(program))
            outputs = _resolve_stack_outputs()
        finally:
            logger.removeHandler(collector)
        return monitor.records, outputs, collector.messages

    # A plan allocates many small, long-lived objects; the default collector thresholds spend about a
    # quarter of the run scanning them (measured in bench/overhead.py). Collect less often while the
    # program runs, then restore the caller's settings.
    thresholds = gc.get_threshold()
    gc.set_threshold(50_000, 20, 100)
    try:
        return contextvars.Context().run(in_fresh_context)
    finally:
        gc.set_threshold(*thresholds)


def _project_name(project_dir: Path) -> str:
    name = stackfile.project_file(project_dir).get("name")
    return name if isinstance(name, str) and name else DEFAULT_PROJECT


# Scale limits checked on the raw data before anything else, so a huge spec is refused in
# milliseconds instead of planned for minutes (README "How stack files are read"). Planning costs
# ~5 ms per cloud resource and an endpoint is ~10 of them: 100 endpoints plan in about 5 s.
SCALE_LIMITS: dict[tuple[str, str], tuple[int, str]] = {
    ("serving", "endpoints"): (100, "split a bigger fleet across stacks"),
    ("training", "gpu_pools"): (100, "each pool is a node group; split a bigger cluster across stacks"),
    ("storage", "buckets"): (100, "split the buckets across stacks"),
    ("registry", "repositories"): (500, "split the repositories across stacks"),
    ("registry", "models"): (500, "split the models across stacks"),
}


def scale_problems(data: Any) -> list[str]:
    """One line per list in the spec longer than its SCALE_LIMITS entry."""
    if not isinstance(data, dict):
        return []
    problems = []
    for (section, key), (limit, why) in SCALE_LIMITS.items():
        block = data.get(section)
        items = block.get(key) if isinstance(block, dict) else None
        if isinstance(items, list) and len(items) > limit:
            problems.append(f"{section}.{key}: at most {limit} per stack ({why}) (got {len(items)})")
    return problems


def validate_offline(stack: stackfile.StackFile) -> OfflineSpec:
    """The stack's spec and the checks skipped for its placeholder secrets; UsageError otherwise."""
    from mlfabric.components.program import MISSING_GCP_PROJECT

    too_big = scale_problems(stack.spec_data)
    if too_big:
        raise UsageError(too_big)
    try:
        offline = parse_spec_offline(stack.spec_data, stack.spec_secret_locations(), SECRET_STANDINS)
    except SpecError as error:
        raise UsageError(error.problems) from None
    spec = offline.spec
    # The project may come from the spec or from the provider's own stack config, as under the engine.
    if spec.cloud == "gcp" and not (spec.gcp and spec.gcp.project) and not stack.config.get("gcp:project"):
        raise UsageError([MISSING_GCP_PROJECT])
    return offline


def validate_stack(stack: stackfile.StackFile) -> PlatformSpec:
    """The stack's spec, or UsageError with one line per problem."""
    return validate_offline(stack).spec


def _mask_secrets(value: Any) -> Any:
    """Plan JSON never shows a placeholder (or what was derived from one): it says ``[secret]``."""
    if isinstance(value, str):
        return SECRET_MASK if stackfile.SECRET_PLACEHOLDER in value else value
    if isinstance(value, dict):
        return {k: _mask_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_secrets(v) for v in value]
    return value


def plan_stack(stack: stackfile.StackFile, project: str | None = None) -> Plan:
    """Validate the stack's spec, then run the program offline and record what it declares."""
    from mlfabric.components.program import run

    offline = validate_offline(stack)
    spec = offline.spec
    if offline.data is not stack.spec_data:  # stand-ins for secrets: the program must see the same spec
        stack = dataclasses.replace(stack, config={**stack.config, SPEC_CONFIG_KEY: offline.data})
    project = project or _project_name(stackfile.find_project_dir(stack.path.parent))
    gcp_project = (spec.gcp.project if spec.gcp else None) or stack.config.get("gcp:project")
    world = World(project=project, stack=stack.stack, region=spec.region)
    if isinstance(gcp_project, str):
        world = dataclasses.replace(world, gcp_project=gcp_project)
    records, outputs, log = run_program(
        run,
        project=project,
        stack=stack.stack,
        config=stack.runtime_config(),
        secret_keys=stack.secret_keys,
        world=world,
    )
    notes = [
        f"{where}: encrypted value replaced by a placeholder secret (cannot be decrypted offline)"
        for where in stack.placeholders
    ]
    notes += offline.skipped + spec_notes(spec)
    return Plan(project, stack.stack, spec, records, outputs, notes + log, source=str(stack.path))


def plan_spec(spec_data: dict[str, Any], stack: str = "test", extra_config: dict[str, Any] | None = None) -> Plan:
    """Plan a spec given as data (tests, benchmarks): the same path as a stack file."""
    config = {SPEC_CONFIG_KEY: spec_data, **(extra_config or {})}
    return plan_stack(stackfile.StackFile(Path(f"Pulumi.{stack}.yaml"), stack, config), project=DEFAULT_PROJECT)
