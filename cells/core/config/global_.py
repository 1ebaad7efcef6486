"""The global stack's `myark:global`: the residency zones, placement weights, hosted sign-in."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from cells.core.config.base import KnownRegion, Model, did_you_mean
from cells.core.regions import REGIONS, Residency, Zone

# ISO 3166-1 alpha-2, the officially assigned codes (https://www.iso.org/iso-3166-country-codes.html),
# the codes both Route53 geolocation and Cloudflare's CF-IPCountry use.
ISO_COUNTRIES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV
    BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES
    ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE
    IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY
    MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU
    NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM
    SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE
    VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()  # noqa: SIM905 (a table to read, not a list to format)
)
ZONE_NAME = re.compile(r"^[a-z][a-z0-9]{1,7}$")


def _country(value: str) -> str:
    if value not in ISO_COUNTRIES:
        raise ValueError(
            f"{value!r} is not an ISO 3166-1 alpha-2 country code{did_you_mean(value.upper(), ISO_COUNTRIES)}; "
            "write two capital letters, e.g. DE, FR, US"
        )
    return value


def _unquoted_no(value: Any) -> Any:
    if isinstance(value, bool):  # YAML 1.1 reads an unquoted NO (Norway), or ON/YES/OFF, as a boolean
        raise ValueError(
            f'got {value}: YAML reads an unquoted country code such as NO as a boolean; quote it: "NO"'
        )
    return value


Country = Annotated[str, BeforeValidator(_unquoted_no), AfterValidator(_country)]


class ZoneSpec(Model):
    """One residency zone: a legal decision, so it lives in config, not in code."""

    aws_regions: list[KnownRegion] = Field(
        min_length=1, description="AWS regions of the zone; a cell's zone is the zone listing its region."
    )
    countries: list[Country] = Field(
        min_length=1,
        description="ISO 3166-1 alpha-2 codes whose anonymous users land in the zone (edge routing).",
    )
    gcp_location_group: str = Field(
        description="The `in:` value group of GCP's gcp.resourceLocations constraint, e.g. in:eu-locations.",
        pattern=r"^in:[a-z0-9-]+-locations$",
    )


# Cognito's standard OAuth scopes; custom ones are `<resource server>/<scope>`.
OAUTH_SCOPES = ("openid", "email", "phone", "profile", "aws.cognito.signin.user.admin")


class AuthSpec(Model):
    """The hosted sign-in at auth.<domain>: the web app's OAuth settings on the Cognito app client."""

    callback_path: str = Field(
        "/auth/callback",
        pattern=r"^/[A-Za-z0-9/_.-]*$",
        description="Path on every cell's app host (https://<cell>.app.<domain><path>) sign-in returns to.",
    )
    logout_path: str = Field(
        "/", pattern=r"^/[A-Za-z0-9/_.-]*$", description="Path on every cell's app host sign-out returns to."
    )
    extra_callback_urls: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Further callback URLs (https, or http://localhost for development; no fragment).",
    )
    flows: list[Literal["code", "implicit"]] = Field(
        default_factory=lambda: ["code"],
        min_length=1,
        description="OAuth flows of the public web client: code (with PKCE), or implicit.",
    )
    scopes: list[str] = Field(
        default_factory=lambda: ["openid", "email", "profile"],
        min_length=1,
        description=f"OAuth scopes: {', '.join(OAUTH_SCOPES)} or <resource server>/<scope>.",
    )

    @field_validator("extra_callback_urls")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        from cells.core.naming import callback_url_problem

        for url in value:
            why = callback_url_problem(url)
            if why:
                raise ValueError(f"{url!r} {why}; Cognito takes https URLs (http only for localhost)")
        return value

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str]) -> list[str]:
        for scope in value:
            if scope not in OAUTH_SCOPES and not re.fullmatch(
                r"[\x21\x23-\x5b\x5d-\x7e]+/[\x21\x23-\x5b\x5d-\x7e]+", scope
            ):
                raise ValueError(
                    f"{scope!r} is not an OAuth scope; use {', '.join(OAUTH_SCOPES)} or <resource server>/<scope>"
                )
        if {"email", "phone", "profile"} & set(value) and "openid" not in value:
            raise ValueError("the email, phone and profile scopes need openid; add openid")
        return value


class GlobalSpec(Model):
    """The global control plane: identity, billing, cell directory, placement, edge; the zones."""

    region: KnownRegion = Field("us-east-1", description="AWS region of the control plane.")
    zones: dict[str, ZoneSpec] = Field(
        min_length=1,
        description="The residency zones by name (2-8 lowercase letters or digits): regions, countries, GCP "
        "location group. A region, a country and a GCP location belong to at most one zone.",
    )
    default_zone: str = Field(
        description="The zone whose default cell takes anonymous users of countries no zone lists."
    )
    placement: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description="Per zone, the weight (percent) of new users placed in each cell; sticky per user.",
    )
    auth: AuthSpec = Field(
        default_factory=lambda: AuthSpec.model_validate({}),
        description="OAuth settings of the hosted sign-in (callback paths, flows, scopes).",
    )

    @model_validator(mode="after")
    def _zones(self) -> GlobalSpec:
        region_zone: dict[str, str] = {}
        country_zone: dict[str, str] = {}
        location_zone: dict[str, tuple[str, str]] = {}
        for name, zone in self.zones.items():
            if not ZONE_NAME.fullmatch(name):
                raise ValueError(
                    f"zones.{name}: {name!r} is not a zone name; use 2-8 lowercase letters or digits, e.g. eu"
                )
            for region in zone.aws_regions:
                if region in region_zone:
                    raise ValueError(
                        f"zones.{name}.awsRegions: {region} is already in zone {region_zone[region]}; "
                        "a region belongs to one zone only"
                    )
                region_zone[region] = name
                for loc in REGIONS[region].gcp_locations:
                    other = location_zone.get(loc.lower())
                    if other and other[0] != name:
                        raise ValueError(
                            f"zones.{name}.awsRegions: {region} uses GCP location {loc}, which {other[1]} puts "
                            f"in zone {other[0]}; regions sharing a GCP location belong to one zone"
                        )
                    location_zone[loc.lower()] = (name, region)
            for country in zone.countries:
                if country in country_zone:
                    raise ValueError(
                        f"zones.{name}.countries: {country} is already in zone {country_zone[country]}; "
                        "a country's anonymous users go to one zone only"
                    )
                country_zone[country] = name
        if self.default_zone not in self.zones:
            raise ValueError(
                f"defaultZone: {self.default_zone!r} is not a zone{did_you_mean(self.default_zone, self.zones)}; "
                f"zones: {', '.join(self.zones)}"
            )
        for zone, weights in self.placement.items():
            if zone not in self.zones:
                raise ValueError(
                    f"placement.{zone}: {zone!r} is not a zone{did_you_mean(zone, self.zones)}; "
                    f"zones: {', '.join(self.zones)}"
                )
            if any(w < 0 for w in weights.values()) or sum(weights.values()) != 100:
                raise ValueError(
                    f"placement.{zone}: weights {weights} must be non-negative and add up to 100 (percent)"
                )
        return self

    def residency(self) -> Residency:
        """The zones as the rest of the program uses them (GCP locations from the region facts)."""
        zones = {
            name: Zone(
                name=name,
                aws_regions=tuple(z.aws_regions),
                gcp_locations=tuple(
                    dict.fromkeys(loc for r in z.aws_regions for loc in REGIONS[r].gcp_locations)
                ),
                gcp_location_group=z.gcp_location_group,
                countries=tuple(z.countries),
            )
            for name, z in self.zones.items()
        }
        return Residency(zones=zones, default_zone=self.default_zone)
