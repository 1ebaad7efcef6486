"""The offline plan's mock engine: what Pulumi's engine would answer the program, offline.

`MyarkMocks` gives each resource type realistic outputs (ids, ARNs, names, a stack reference's
outputs) and answers the invokes the program makes; `make_monitor` records every registration as a
`PlannedResource` (URNs as the real engine makes them, the resolved region, secrets masked) and
turns a duplicate URN, which the real engine rejects and mocks accept, into an error.
`cells.offline.plan.record_plan` runs the program against them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from cells.core.regions import AWS_GLOBAL_MODULES, REGIONS
from cells.offline.plan import SECRET_MASK, PlanError, PlannedResource

MOCK_ACCOUNT = "123456789012"
STACK_TYPE = "pulumi:pulumi:Stack"


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


def unwrap(value: Any) -> Any:
    from pulumi.runtime import rpc

    if rpc.is_rpc_secret(value):
        return unwrap(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
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
            f"invoke {token} has no offline mock; add it to cells/offline/mocks.py MyarkMocks.call"
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


def make_monitor(mocks: MyarkMocks, errors: list[str]):
    from pulumi.runtime import rpc
    from pulumi.runtime.mocks import MockMonitor, Mocks
    from pulumi.runtime.proto import resource_pb2
    from pulumi.runtime.settings import get_project, get_stack
    from pulumi.runtime.sync_await import _sync_await

    class _Adapter(Mocks):
        def new_resource(self, args):  # pragma: no cover - the monitor below calls mocks directly
            raise NotImplementedError

        def call(self, args):
            return mocks.call(args.token, unwrap(args.args)), []

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
            inputs = unwrap(raw)
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
            inputs = unwrap(rpc.deserialize_properties(request.properties))
            urn = self.make_urn(request.parent, request.type, request.name)
            _, state = mocks.outputs_for(request.type, request.name, inputs, None)
            obj = _sync_await(rpc.serialize_properties(state, {}))
            return resource_pb2.ReadResourceResponse(urn=urn, properties=obj)

    return RecordingMonitor()
