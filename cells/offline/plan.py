"""The offline plan: the real program run under Pulumi's mock engine, recorded as plain data.

`record_plan(stack)` runs the same `cells.infra.program.main` that `pulumi up` runs, with the stack's own
config, against a recording monitor. Every registered resource becomes a `PlannedResource` (type,
name, parent, provider, resolved region, protect, retainOnDelete, wire-name inputs with secrets
masked). Tests and `python -m cells plan` read that data instead of chaining `Output.apply`.

Mock pitfalls designed out here, once for everyone: mocks are installed per run (never at import),
`preview=False` so outputs are known, the runtime is reset between runs, stack outputs are awaited,
invokes return `(dict, [])`, and a duplicate URN (which the real engine rejects and mocks accept) is
an error.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cells.core.config import PROJECT_ROOT, ConfigError, read_stack_file
from cells.core.regions import AWS_GLOBAL_MODULES, REGIONS

MOCK_ACCOUNT = "123456789012"
SECRET_MASK = "[secret]"
STACK_TYPE = "pulumi:pulumi:Stack"


class PlanError(Exception):
    """The program ran but produced something the real engine would reject."""


@dataclass(frozen=True)
class PlannedResource:
    urn: str
    type: str
    name: str
    parent: str | None
    provider: str | None
    region: str | None
    protect: bool
    retain_on_delete: bool
    inputs: dict[str, Any]
    custom: bool
    aliases: tuple[str, ...] = ()
    # What the mock engine answered (ids, ARNs, names): lets rules join a reference to its resource.
    outputs: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def cloud(self) -> str:
        pkg = self.type.split(":")[0]
        if pkg == "pulumi" and self.type.startswith("pulumi:providers:"):
            return self.type.split(":")[2]
        return pkg if self.custom else "component"

    @property
    def module(self) -> str:
        parts = self.type.split(":")
        return parts[1].split("/")[0] if len(parts) > 2 else ""

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "provider": self.provider,
            "region": self.region,
            "protect": self.protect,
            "retainOnDelete": self.retain_on_delete,
            "inputs": self.inputs,
        }


@dataclass
class Plan:
    project: str
    stack: str
    resources: list[PlannedResource]
    outputs: dict[str, Any]
    violations: list[dict[str, str]] = field(default_factory=list)

    def of_type(self, type_: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name_suffix: str = "") -> PlannedResource:
        found = [r for r in self.of_type(type_) if r.name.endswith(name_suffix)]
        if len(found) != 1:
            raise LookupError(f"expected one {type_} named *{name_suffix}, found {[r.name for r in found]}")
        return found[0]

    def by_urn(self, urn: str) -> PlannedResource:
        return next(r for r in self.resources if r.urn == urn)

    def children_of(self, urn: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.parent == urn]

    def cloud_resources(self) -> Iterator[PlannedResource]:
        """Resources a cloud provider manages (not components, not provider instances)."""
        return (r for r in self.resources if r.custom and not r.type.startswith("pulumi:"))

    def counts(self, key: Callable[[PlannedResource], Any]) -> Counter:
        return Counter(key(r) for r in self.cloud_resources())

    def to_json(self, by_urn: bool = False) -> dict[str, Any]:
        """Plain data in registration order (a resource after those it reads: the scan's translation
        relies on it); `by_urn` sorts instead, so two runs give the same bytes (the order the engine
        registers resources in varies from run to run)."""
        resources = sorted(self.resources, key=lambda r: r.urn) if by_urn else self.resources
        return {
            "project": self.project,
            "stack": self.stack,
            "resources": [r.to_json() for r in resources],
            "outputs": self.outputs,
            "violations": self.violations,
        }


def _mask(value: Any) -> Any:
    import pulumi
    from pulumi.runtime import rpc

    if rpc.is_rpc_secret(value):
        return SECRET_MASK
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    if isinstance(value, pulumi.Asset | pulumi.Archive):  # e.g. code uploaded as an AssetArchive
        return _asset(value)
    return value


def _asset(value: Any) -> dict[str, Any]:
    """An asset or archive as plain data: its kind and, for an AssetArchive, its member names."""
    assets = getattr(value, "assets", None)
    return {
        "asset": type(value).__name__,
        **({"members": sorted(assets)} if isinstance(assets, dict) else {}),
    }


def _unwrap(value: Any) -> Any:
    from pulumi.runtime import rpc

    if rpc.is_rpc_secret(value):
        return _unwrap(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


def _short_id(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:17]


def _split_provider_ref(ref: str) -> str | None:
    return ref.rsplit("::", 1)[0] if ref else None


class MyarkMocks:
    """Realistic outputs for each resource type the program builds, and the invokes it makes."""

    def __init__(self, stack_outputs: Mapping[str, Mapping[str, Any]] | None = None):
        self.stack_outputs = stack_outputs or {}

    def outputs_for(
        self, type_: str, name: str, inputs: dict[str, Any], region: str | None
    ) -> tuple[str, dict]:
        if type_ == "pulumi:pulumi:StackReference":
            ref = inputs.get("name", name)
            if ref not in self.stack_outputs:
                raise PlanError(
                    f"stack reference {ref!r}: no offline plan of that stack was given; "
                    f"plan it first (known: {', '.join(self.stack_outputs) or 'none'})"
                )
            return ref, {"name": ref, "outputs": dict(self.stack_outputs[ref]), "secretOutputNames": []}
        state = dict(inputs)
        rid = f"{name}-{_short_id(type_, name)}"
        # The engine auto-names what the program leaves unnamed: a logical name plus a random suffix.
        state.setdefault("name", rid)
        pkg, _, rest = type_.partition(":")
        module = rest.split("/")[0].split(":")[0]
        region = region or "us-east-1"
        if pkg == "aws":
            kind = type_.rsplit(":", 1)[-1].lower()
            arn_region = "" if module in AWS_GLOBAL_MODULES else region
            state.setdefault("arn", f"arn:aws:{module}:{arn_region}:{MOCK_ACCOUNT}:{kind}/{rid}")
            state.setdefault("tagsAll", inputs.get("tags", {}))
            state.update(_aws_specifics(type_, rid, inputs, region))
        elif pkg == "gcp":
            state.update(_gcp_specifics(type_, rid, inputs))
        elif pkg == "cloudflare":
            rid = _short_id(type_, name, "cf")[:32].ljust(32, "0")
        return state.get("id", rid), state

    def call(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": MOCK_ACCOUNT,
                "arn": f"arn:aws:iam::{MOCK_ACCOUNT}:root",
                "userId": MOCK_ACCOUNT,
                "id": MOCK_ACCOUNT,
            }
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            region = args.get("region") or "us-east-1"
            names = list(REGIONS[region].az_names)
            return {"names": names, "zoneIds": [f"{region[:3]}-az{i + 1}" for i in range(len(names))]}
        if token == "gcp:organizations/getProject:getProject":
            pid = args.get("projectId", "project")
            return {"projectId": pid, "number": str(int(_short_id(pid), 16) % 10**12), "name": pid}
        raise PlanError(
            f"invoke {token} has no offline mock; add it to cells/offline/plan.py MyarkMocks.call"
        )


def _aws_specifics(type_: str, rid: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    name = inputs.get("name") or rid
    if type_ == "aws:s3/bucket:Bucket":
        bucket = inputs.get("bucket") or rid.lower()
        return {
            "id": bucket,
            "bucket": bucket,
            "arn": f"arn:aws:s3:::{bucket}",
            "bucketRegionalDomainName": f"{bucket}.s3.{region}.amazonaws.com",
            "bucketDomainName": f"{bucket}.s3.amazonaws.com",
            "region": inputs.get("region") or region,
        }
    if type_ == "aws:kms/key:Key":
        key_id = f"{rid[:8]}-0000-4000-8000-{rid[-12:]}".replace("_", "0")
        return {"id": key_id, "keyId": key_id, "arn": f"arn:aws:kms:{region}:{MOCK_ACCOUNT}:key/{key_id}"}
    if type_ == "aws:lb/loadBalancer:LoadBalancer":
        return {
            "dnsName": f"{name}-1234567890.{region}.elb.amazonaws.com",
            "zoneId": "Z215JYRZR1TBD5",
            "arnSuffix": f"app/{name}/{rid[-16:]}",
        }
    if type_ == "aws:lb/targetGroup:TargetGroup":
        return {"arnSuffix": f"targetgroup/{name}/{rid[-16:]}"}
    if type_ == "aws:acm/certificate:Certificate":
        names = [inputs.get("domainName", "example.com"), *inputs.get("subjectAlternativeNames", [])]
        return {
            "domainValidationOptions": [
                {
                    "domainName": domain,
                    "resourceRecordName": f"_{_short_id(domain)}.{domain}.",
                    "resourceRecordType": "CNAME",
                    # ACM gives every certificate of a name in one account the same record.
                    "resourceRecordValue": f"_{_short_id('value', domain)}.acm-validations.aws.",
                }
                for domain in names
            ]
        }
    if type_ == "aws:cloudfront/distribution:Distribution":
        return {"domainName": f"{rid[-14:]}.cloudfront.net", "hostedZoneId": "Z2FDTNDATAQYW2"}
    if type_ == "aws:ecs/cluster:Cluster":
        return {"name": inputs.get("name") or rid}
    if type_ == "aws:ecs/service:Service":
        return {"name": inputs.get("name") or rid}
    if type_ == "aws:route53/zone:Zone":
        return {
            "zoneId": f"Z{rid[-13:].upper()}",
            "id": f"Z{rid[-13:].upper()}",
            "nameServers": [f"ns-{i}.awsdns-{i}.org" for i in range(4)],
        }
    if type_ == "aws:cognito/userPool:UserPool":
        pid = f"{region}_{rid[-9:]}"
        return {"id": pid, "endpoint": f"cognito-idp.{region}.amazonaws.com/{pid}"}
    if type_ == "aws:ssm/parameter:Parameter":
        return {"id": inputs.get("name", rid)}
    if type_ == "aws:dynamodb/table:Table":
        return {"id": inputs.get("name", rid), "streamArn": ""}
    if type_ == "aws:iam/role:Role":
        return {"id": name, "name": name, "arn": f"arn:aws:iam::{MOCK_ACCOUNT}:role/{name}"}
    if type_ == "aws:cloudwatch/logGroup:LogGroup":
        return {"arn": f"arn:aws:logs:{region}:{MOCK_ACCOUNT}:log-group:{name}"}
    if type_ == "aws:cloudwatch/eventBus:EventBus":
        return {"id": name, "arn": f"arn:aws:events:{region}:{MOCK_ACCOUNT}:event-bus/{name}"}
    return {}


def _gcp_specifics(type_: str, rid: str, inputs: dict[str, Any]) -> dict[str, Any]:
    project = inputs.get("project", "project")
    if type_ == "gcp:serviceaccount/account:Account":
        email = f"{inputs.get('accountId', rid)}@{project}.iam.gserviceaccount.com"
        return {
            "email": email,
            "name": f"projects/{project}/serviceAccounts/{email}",
            "member": f"serviceAccount:{email}",
        }
    if type_ == "gcp:iam/workloadIdentityPool:WorkloadIdentityPool":
        return {
            "name": f"projects/123456789/locations/global/workloadIdentityPools/{inputs.get('workloadIdentityPoolId')}"
        }
    if type_ == "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider":
        pool = inputs.get("workloadIdentityPoolId")
        pid = inputs.get("workloadIdentityPoolProviderId")
        return {"name": f"projects/123456789/locations/global/workloadIdentityPools/{pool}/providers/{pid}"}
    if type_ == "gcp:bigquery/dataset:Dataset":
        return {"id": f"projects/{project}/datasets/{inputs.get('datasetId')}"}
    if type_ == "gcp:kms/keyRing:KeyRing":
        return {"id": f"projects/{project}/locations/{inputs.get('location')}/keyRings/{inputs.get('name')}"}
    if type_ == "gcp:kms/cryptoKey:CryptoKey":
        return {"id": f"{inputs.get('keyRing')}/cryptoKeys/{inputs.get('name')}"}
    if type_ == "gcp:firestore/database:Database":
        return {"id": f"projects/{project}/databases/{inputs.get('name')}"}
    return {}


# GCP services without a location: identity and project-level policy.
GCP_GLOBAL_MODULES = frozenset({"iam", "serviceaccount", "projects", "organizations", "orgpolicy"})


def _region_of(type_: str, inputs: dict[str, Any], provider_region: str | None) -> str | None:
    pkg = type_.split(":")[0]
    module = type_.split(":")[1].split("/")[0] if ":" in type_ else ""
    if pkg == "aws":
        if module in AWS_GLOBAL_MODULES:
            return None
        if type_ == "aws:wafv2/webAcl:WebAcl" and inputs.get("scope") == "CLOUDFRONT":
            return None
        return inputs.get("region") or provider_region
    if pkg == "gcp":
        if module in GCP_GLOBAL_MODULES or type_.endswith(
            ("IamMember", "IAMMember", "IamBinding", "IAMBinding")
        ):
            return None
        for key in ("location", "locationId", "region"):
            if isinstance(inputs.get(key), str):
                return inputs[key]
        ring = inputs.get("keyRing")
        if isinstance(ring, str) and "/locations/" in ring:
            return ring.split("/locations/")[1].split("/")[0]
        return provider_region
    if type_.startswith("pulumi:providers:"):
        return inputs.get("region")
    return None


def _make_monitor(mocks: MyarkMocks, errors: list[str]):
    from pulumi.runtime import rpc
    from pulumi.runtime.mocks import MockMonitor, Mocks
    from pulumi.runtime.proto import resource_pb2
    from pulumi.runtime.settings import get_project, get_stack
    from pulumi.runtime.sync_await import _sync_await

    class _Adapter(Mocks):
        def new_resource(self, args):  # pragma: no cover - the monitor below calls mocks directly
            raise NotImplementedError

        def call(self, args):
            return mocks.call(args.token, _unwrap(args.args)), []

    class RecordingMonitor(MockMonitor):
        def __init__(self) -> None:
            super().__init__(_Adapter())
            self.records: list[PlannedResource] = []
            self.urns: set[str] = set()
            self.provider_regions: dict[str, str | None] = {}

        def make_urn(self, parent: str, type_: str, name: str) -> str:
            # The engine does not prefix the root stack's type; mocks do. Match the engine so the
            # recorded URNs are the ones real state holds.
            if parent and parent.split("::")[2].split("$")[-1] != STACK_TYPE:
                type_ = parent.split("::")[2] + "$" + type_
            return "urn:pulumi:" + "::".join([get_stack(), get_project(), type_, name])

        def RegisterResource(self, request):
            if request.type == STACK_TYPE:
                return resource_pb2.RegisterResourceResponse(
                    urn=f"urn:pulumi:{get_stack()}::{get_project()}::{STACK_TYPE}::{get_project()}-{get_stack()}"
                )
            urn = self.make_urn(request.parent, request.type, request.name)
            if urn in self.urns:
                errors.append(f"duplicate URN {urn}: two resources share a type and name under one parent")
            self.urns.add(urn)
            raw = rpc.deserialize_properties(request.object)
            inputs = _unwrap(raw)
            provider = _split_provider_ref(request.provider)
            region = _region_of(request.type, inputs, self.provider_regions.get(provider or ""))
            if request.type == "gcp:bigquery/table:Table":
                # A table lives where its dataset lives.
                region = next(
                    (
                        r.region
                        for r in self.records
                        if r.type == "gcp:bigquery/dataset:Dataset"
                        and r.inputs.get("datasetId") == inputs.get("datasetId")
                    ),
                    region,
                )
            if request.type.startswith("pulumi:providers:"):
                self.provider_regions[urn] = region
            parent = request.parent or None
            if parent and parent.split("::")[2].split("$")[-1] == STACK_TYPE:
                parent = None
            id_, state = (
                mocks.outputs_for(request.type, request.name, inputs, region) if request.custom else ("", {})
            )
            self.records.append(
                PlannedResource(
                    urn=urn,
                    type=request.type,
                    name=request.name,
                    parent=parent,
                    provider=provider,
                    region=region,
                    protect=bool(request.protect),
                    retain_on_delete=bool(request.retainOnDelete),
                    inputs=_mask(raw),
                    custom=bool(request.custom),
                    aliases=self._aliases(request),
                    outputs={"id": id_, **state} if request.custom else {},
                )
            )
            if not request.custom:
                return resource_pb2.RegisterResourceResponse(urn=urn)
            obj = _sync_await(rpc.serialize_properties(state, {}))
            self.resources[urn] = MockMonitor.ResourceRegistration(urn, id_, state)
            return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=obj)

        def _aliases(self, request) -> tuple[str, ...]:
            found = list(request.aliasURNs)
            for alias in request.aliases:
                if alias.urn:
                    found.append(alias.urn)
                    continue
                spec = alias.spec
                parent = "" if spec.noParent else (spec.parentUrn or request.parent)
                base = self.make_urn(parent, spec.type or request.type, spec.name or request.name)
                if spec.stack or spec.project:
                    _, _, _, rest = base.split(":", 3)
                    parts = rest.split("::")
                    parts[0] = spec.stack or parts[0]
                    parts[1] = spec.project or parts[1]
                    base = "urn:pulumi:" + "::".join(parts)
                found.append(base)
            return tuple(found)

        def ReadResource(self, request):
            inputs = _unwrap(rpc.deserialize_properties(request.properties))
            urn = self.make_urn(request.parent, request.type, request.name)
            _, state = mocks.outputs_for(request.type, request.name, inputs, None)
            obj = _sync_await(rpc.serialize_properties(state, {}))
            return resource_pb2.ReadResourceResponse(urn=urn, properties=obj)

    return RecordingMonitor()


def project_name(root: Path = PROJECT_ROOT) -> str:
    return yaml.safe_load((root / "Pulumi.yaml").read_text())["name"]


def record_plan(
    stack: str,
    root: Path = PROJECT_ROOT,
    stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
    program: Callable[[], object] | None = None,
) -> Plan:
    """Run the program for `stack` under mocks and return what it would build.

    `stack_outputs` feeds StackReferences (fully qualified name -> outputs). When not given and the
    stack reads the global stack, the global stack is planned first, offline, and its outputs used.
    `program` replaces the real program (component tests); the stack's config is still loaded.
    """
    import pulumi
    from pulumi.runtime import settings
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from cells.infra import program as real_program

    sf = read_stack_file(stack, root)
    if stack_outputs is None:
        # Refuse bad config for this stack before planning the stacks it reads, so the message
        # names this stack's file.
        from cells.core.fleet import load_fleet

        try:
            load_fleet(root, focus=stack)
        except ConfigError as exc:
            exc.registered = 0  # type: ignore[attr-defined]
            raise
        stack_outputs = _referenced_outputs(sf.values, root)
    errors: list[str] = []
    mocks = MyarkMocks(stack_outputs)
    monitor = _make_monitor(mocks, errors)
    settings.ROOT.set(None)
    pulumi.runtime.set_mocks(
        monitor.mocks, project=project_name(root), stack=stack, preview=False, monitor=monitor
    )
    runtime_settings: Any = settings.SETTINGS
    runtime_settings.rpc_manager.clear()
    runtime_settings.outputs.clear()
    pulumi.runtime.set_all_config(
        {k: v if isinstance(v, str) else json.dumps(v) for k, v in sf.values.items()},
        list(sf.secret_keys),
    )

    def run() -> None:
        if program is not None:
            program()
        else:
            real_program.main(root)

    try:
        _sync_await(run_pulumi_func(run))
    except ConfigError as exc:
        exc.registered = len(monitor.records)  # type: ignore[attr-defined]
        raise
    if errors:
        raise PlanError("; ".join(errors))
    root_resource = settings.get_root_resource()
    outputs = _resolve_outputs(getattr(root_resource, "outputs", {}) or {}, _sync_await)
    return Plan(project=project_name(root), stack=stack, resources=monitor.records, outputs=outputs)


def _resolve_outputs(outputs: dict[str, Any], sync_await) -> dict[str, Any]:
    import pulumi

    resolved: dict[str, Any] = {}
    for key, value in outputs.items():
        out = pulumi.Output.from_input(value)
        secret = sync_await(out.is_secret())
        resolved[key] = SECRET_MASK if secret else _unwrap(sync_await(out.future()))
    return resolved


_GLOBAL_CACHE: dict[tuple[str, str], dict[str, Any]] = {}


def _referenced_outputs(values: Mapping[str, Any], root: Path) -> dict[str, dict[str, Any]]:
    """A cell reads the global stack: plan that stack offline and hand its outputs over."""
    ref = values.get("myark:globalStack")
    if not isinstance(ref, str):
        return {}
    target = ref.rsplit("/", 1)[-1]
    key = (str(root), target)
    if key not in _GLOBAL_CACHE:
        _GLOBAL_CACHE[key] = record_plan(target, root, stack_outputs={}).outputs
    return {ref: _GLOBAL_CACHE[key]}
