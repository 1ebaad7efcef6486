"""AWS access for the live tools: one session, cached clients, and errors a person can act on.

Every call goes through `Aws.call` / `Aws.pages`, which turn any botocore failure (denied, throttled,
no or expired credentials, unreachable endpoint) into one `AwsError` naming the call, the region and
what to check. The commands print that message and exit 1; nobody sees a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ProfileNotFound

from cells.core.errors import UsageError

# Standard retry mode already backs off on throttling; a throttle that survives 6 attempts is reported.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 6},
    connect_timeout=5,
    read_timeout=30,
    user_agent_extra="myark-cells-ops",
)

DENIED = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException", "Forbidden"}
)
THROTTLED = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "PriorRequestNotComplete",
    }
)
BAD_CREDENTIALS = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AuthFailure",
        "InvalidToken",
    }
)
# botocore raises these before any request leaves the machine: nothing usable to sign with.
CREDENTIAL_FAILURES = frozenset(
    {
        "NoCredentialsError",
        "PartialCredentialsError",
        "CredentialRetrievalError",
        "NoAuthTokenError",
        "TokenRetrievalError",
        "SSOTokenLoadError",
        "UnauthorizedSSOTokenError",
        "SSOError",
    }
)
UNREACHABLE = frozenset(
    {
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
        "ProxyConnectionError",
        "SSLError",
        "ConnectionError",
    }
)
# IAM prefixes that differ from boto3's service name, and S3 actions that differ from the API name.
IAM_PREFIX = {"elbv2": "elasticloadbalancing", "resourcegroupstaggingapi": "tag"}
IAM_ACTION = {
    ("s3", "ListBuckets"): "ListAllMyBuckets",
    ("s3", "GetBucketEncryption"): "GetEncryptionConfiguration",
    ("s3", "GetBucketReplication"): "GetReplicationConfiguration",
    ("s3", "GetPublicAccessBlock"): "GetBucketPublicAccessBlock",
}


# Sessions and clients are built once per process: a new session re-reads every service model from
# disk, and a new client generates every method (tens of ms each).
_SESSIONS: dict[str | None, boto3.Session] = {}
_CLIENTS: dict[tuple[boto3.Session, str, str], Any] = {}


class AwsError(Exception):
    """An AWS call failed. The message is the whole story; `code` is AWS's error code, if any."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


def iam_action(service: str, operation: str) -> str:
    """The IAM action a person must allow for this call, e.g. `s3:GetEncryptionConfiguration`."""
    return f"{IAM_PREFIX.get(service, service)}:{IAM_ACTION.get((service, operation), operation)}"


def explain(exc: Exception, service: str, operation: str, region: str) -> AwsError:
    """Turn a botocore failure into one message: which call, where, what happened, what to check."""
    call = f"{service}:{operation} in {region}"
    action = iam_action(service, operation)
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        said = f"{code}: {error.get('Message') or 'no message'}"
        if code in DENIED:
            return AwsError(
                f"{call} was denied ({said}). Check that the IAM policy of your credentials allows {action}, "
                f"and that no SCP or permissions boundary denies it in {region}.",
                code,
            )
        if code in THROTTLED:
            return AwsError(
                f"{call} was throttled by AWS after retries ({said}). Wait a minute and re-run; on a busy "
                "account set AWS_RETRY_MODE=adaptive and AWS_MAX_ATTEMPTS=10.",
                code,
            )
        if code in BAD_CREDENTIALS:
            return AwsError(
                f"{call} rejected the credentials ({said}). They are expired or wrong: refresh them "
                "(e.g. `aws sso login --profile NAME`) or pass the right --profile.",
                code,
            )
        return AwsError(f"{call} failed ({said}).", code)
    name = type(exc).__name__
    if name in CREDENTIAL_FAILURES:
        return AwsError(
            f"{call}: no usable AWS credentials ({exc}). Pass --profile NAME, set AWS_PROFILE, or export "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; for SSO run `aws sso login --profile NAME`.",
            name,
        )
    if name in UNREACHABLE:
        return AwsError(
            f"{call}: could not reach AWS ({exc}). Check network access and any HTTPS_PROXY, and that "
            f"{region} is enabled for the account.",
            name,
        )
    return AwsError(f"{call} failed ({name}: {exc}).", name)


class Aws:
    """A boto3 session and its clients per (service, region), with every call's errors explained."""

    def __init__(self, session: boto3.Session) -> None:
        self.session = session

    @classmethod
    def connect(cls, profile: str | None = None) -> Aws:
        if profile not in _SESSIONS:
            try:
                _SESSIONS[profile] = boto3.Session(profile_name=profile)
            except ProfileNotFound as exc:
                source = f"--profile {profile}" if profile else f"AWS_PROFILE={os.environ.get('AWS_PROFILE')}"
                known = ", ".join(sorted(botocore.session.Session(profile=None).available_profiles)) or "none"
                raise UsageError(
                    f"{source}: no such AWS profile in the AWS config files ({exc}); known profiles: {known}"
                ) from None
        return cls(_SESSIONS[profile])

    def client(self, service: str, region: str) -> Any:
        key = (self.session, service, region)
        if key not in _CLIENTS:
            _CLIENTS[key] = self.session.client(service, region_name=region, config=CLIENT_CONFIG)
        return _CLIENTS[key]

    def call(
        self, service: str, region: str, method: str, *, absent: Iterable[str] = (), **params: Any
    ) -> Any:
        """Call `method` (boto3's snake_case name). Error codes in `absent` mean "not there": None."""
        client = self.client(service, region)
        try:
            return getattr(client, method)(**params)
        except (ClientError, BotoCoreError) as exc:
            if _code(exc) in set(absent):
                return None
            raise explain(exc, service, _operation(client, method), region) from None

    def pages(self, service: str, region: str, method: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every page of a paginated call, with the same error handling as `call`."""
        client = self.client(service, region)
        try:
            yield from client.get_paginator(method).paginate(**params)
        except (ClientError, BotoCoreError) as exc:
            raise explain(exc, service, _operation(client, method), region) from None


def _code(exc: Exception) -> str:
    return str(exc.response.get("Error", {}).get("Code", "")) if isinstance(exc, ClientError) else ""


def _operation(client: Any, method: str) -> str:
    return client.meta.method_to_api_mapping.get(method, method)
