"""The global control plane: identity (home cell as a claim), billing bus, cell directory, placement."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from cells.core.naming import TAG_ROLE, control_plane_host
from cells.infra.components.kms import CellKey, CellKeyArgs
from cells.infra.components.protection import kept

# Claims the edge reads to route a user (Cognito prefixes custom attributes with `custom:`). Both
# are set at sign-up by the control plane; the edge checks every routing decision against the zone.
HOME_CELL_ATTRIBUTE = "home_cell"
HOME_ZONE_ATTRIBUTE = "home_zone"


@dataclass(frozen=True)
class TokenSettings:
    """What the edge needs to verify the pool's tokens itself."""

    jwks_url: pulumi.Input[str]
    issuer: pulumi.Input[str]
    audience: pulumi.Input[str]


@dataclass(frozen=True)
class ControlPlaneArgs:
    region: str
    domain: str
    account_id: pulumi.Input[str]
    placement: dict[str, dict[str, int]]
    callback_urls: list[str] = field(default_factory=list)
    logout_urls: list[str] = field(default_factory=list)
    oauth_flows: list[str] = field(default_factory=lambda: ["code"])
    oauth_scopes: list[str] = field(default_factory=lambda: ["openid", "email", "profile"])


class ControlPlane(pulumi.ComponentResource):
    def __init__(self, name: str, args: ControlPlaneArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("myark:global:ControlPlane", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        keep = kept(self)
        self._domain = args.domain
        self.key = CellKey(
            name,
            CellKeyArgs(
                region=args.region,
                account_id=args.account_id,
                description="MyARK control plane: directory, billing bus",
                eventbridge=True,
            ),
            opts=child,
        )
        self.user_pool = aws.cognito.UserPool(
            f"{name}-identity",
            deletion_protection="ACTIVE",
            username_attributes=["email"],
            auto_verified_attributes=["email"],
            # A changed email stays unverified (and the old one in use) until the user confirms the
            # new address: a stolen session cannot take the account over by changing its email.
            user_attribute_update_settings={"attributes_require_verification_before_updates": ["email"]},
            # Every user signs in with a second factor (an authenticator app).
            mfa_configuration="ON",
            software_token_mfa_configuration={"enabled": True},
            # Threat protection (compromised credentials, adaptive authentication) enforced; it needs
            # the Plus feature plan.
            user_pool_tier="PLUS",
            user_pool_add_ons={"advanced_security_mode": "ENFORCED"},
            password_policy={
                "minimum_length": 12,
                "require_lowercase": True,
                "require_uppercase": True,
                "require_numbers": True,
                "require_symbols": False,
                "temporary_password_validity_days": 3,
            },
            account_recovery_setting={"recovery_mechanisms": [{"name": "verified_email", "priority": 1}]},
            schemas=[
                {
                    "name": HOME_CELL_ATTRIBUTE,
                    "attribute_data_type": "String",
                    "mutable": True,
                    "string_attribute_constraints": {"min_length": "3", "max_length": "32"},
                },
                {
                    # Cognito can add a custom attribute to a pool, never change or remove one.
                    "name": HOME_ZONE_ATTRIBUTE,
                    "attribute_data_type": "String",
                    "mutable": True,
                    "string_attribute_constraints": {"min_length": "2", "max_length": "16"},
                },
            ],
            opts=keep,
        )
        self.client = aws.cognito.UserPoolClient(
            f"{name}-app",
            user_pool_id=self.user_pool.id,
            generate_secret=False,
            explicit_auth_flows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            prevent_user_existence_errors="ENABLED",
            enable_token_revocation=True,
            access_token_validity=60,
            id_token_validity=60,
            refresh_token_validity=30,
            token_validity_units={"access_token": "minutes", "id_token": "minutes", "refresh_token": "days"},
            # The app may read its home cell but never write it: placement is the control plane's.
            read_attributes=[
                "email",
                "email_verified",
                f"custom:{HOME_CELL_ATTRIBUTE}",
                f"custom:{HOME_ZONE_ATTRIBUTE}",
            ],
            write_attributes=["email"],
            # The hosted sign-in on auth.<domain> (myark:global.auth): code flow back to each cell's app.
            allowed_oauth_flows_user_pool_client=True,
            allowed_oauth_flows=args.oauth_flows,
            allowed_oauth_scopes=args.oauth_scopes,
            callback_urls=args.callback_urls,
            logout_urls=args.logout_urls,
            supported_identity_providers=["COGNITO"],
            # Apps ship this client's id: a replaced client would sign every user out of every app.
            opts=keep,
        )
        self.auth_certificate = aws.acm.Certificate(
            f"{name}-auth-cert",
            domain_name=control_plane_host(args.domain),
            validation_method="DNS",
            opts=child,
        )
        self.billing_bus = aws.cloudwatch.EventBus(
            f"{name}-billing", name="myark-billing", kms_key_identifier=self.key.arn, opts=keep
        )
        aws.cloudwatch.EventArchive(
            f"{name}-billing-archive",
            event_source_arn=self.billing_bus.arn,
            retention_days=400,
            description="Usage events cells published, kept for billing disputes",
            kms_key_identifier=self.key.arn,
            opts=keep,
        )
        self.directory = aws.dynamodb.Table(
            f"{name}-directory",
            name="myark-cell-directory",
            billing_mode="PAY_PER_REQUEST",
            hash_key="pk",
            attributes=[{"name": "pk", "type": "S"}],
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True, "kms_key_arn": self.key.arn},
            deletion_protection_enabled=True,
            tags={TAG_ROLE: "cell-directory"},
            opts=keep,
        )
        placement = json.dumps(args.placement, sort_keys=True)
        self.placement = aws.ssm.Parameter(
            f"{name}-placement",
            name="/myark/global/placement",
            type="SecureString",
            key_id=self.key.arn,
            value=placement,
            description="Per zone, percent of NEW users placed in each cell (sticky per user)",
            opts=child,
        )
        self.outputs = {
            "identityUserPoolId": self.user_pool.id,
            "identityClientId": self.client.id,
            "identityIssuer": self.user_pool.endpoint.apply(lambda e: f"https://{e}"),
            "homeCellClaim": f"custom:{HOME_CELL_ATTRIBUTE}",
            "homeZoneClaim": f"custom:{HOME_ZONE_ATTRIBUTE}",
            "billingBusArn": self.billing_bus.arn,
            "billingBusName": self.billing_bus.name,
            "directoryTable": self.directory.name,
            "directoryRegion": args.region,
            "placement": args.placement,
            "placementParameter": self.placement.name,
        }

    def token_settings(self) -> TokenSettings:
        """The pool's key set, issuer and app client: the edge verifies ID tokens against them."""
        issuer = self.outputs["identityIssuer"]
        return TokenSettings(
            jwks_url=pulumi.Output.concat(issuer, "/.well-known/jwks.json"),
            issuer=issuer,
            audience=self.client.id,
        )

    def serve_auth(
        self, certificate_arn: pulumi.Input[str], depends_on: list[pulumi.Resource] | None = None
    ) -> aws.cognito.UserPoolDomain:
        """The hosted sign-in at auth.<domain> (the edge sends /auth/* here); needs the issued cert
        and, before it, an A record at the apex (`depends_on`)."""
        domain = aws.cognito.UserPoolDomain(
            f"{self._name}-auth-domain",
            domain=control_plane_host(self._domain),
            certificate_arn=certificate_arn,
            user_pool_id=self.user_pool.id,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )
        self.register_outputs(self.outputs)
        return domain
