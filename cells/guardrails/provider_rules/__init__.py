"""The providers' own rules: what each service documents about the values it accepts.

The policy pack (`cells/guardrails/policies.py`) encodes OUR rules (residency, encryption, exposure). This
module encodes THEIRS: name lengths and character sets after the engine's autonaming, valid
locations and enumerations, pairings between resources (a CMEK key's location and its data's, an
alias target and health evaluation, a key policy and the services that use the key), and
uniqueness across the fleet (one owner per DNS record, SCP name, failover role, GCP id). A value
the offline plan accepts but the service refuses is a failed first `pulumi up`; these rules move
that failure to `./dev plan`.

Every rule cites the page it encodes (`source`); `docs/provider-rules.md` is generated from
`RULES` (`python -m cells docs`) and a test keeps it current.

Layout: `registry` (Rule, Violation, the `@rule` decorator, RULES, `check_stack`,
`check_fleet_plans`, `markdown_table`), `name_limits` (the services' name limits and the engine's
autonaming), then one module per theme, each rule's metadata beside its check: `names` (names and
ids), `pairings` (locations and pairings: CMEK, alias health, key and log-bucket policies), `web`
(WAF, Cognito sign-in, CSP) and `fleet` (uniqueness across every stack).

Stack rules read one recorded plan (`check_stack`); fleet rules read the plans of every stack
together (`check_fleet_plans`). A violation names the rule, the URN, the value, what the service
allows and where the value came from (a config key, the engine's autoname, or a derived name).
"""

# Importing a theme registers its rules: this order is the order of RULES and of
# docs/provider-rules.md. Every module of this package is imported through here, so RULES is whole
# whichever one a caller imports.
from cells.guardrails.provider_rules import registry  # noqa: F401  # isort: skip
from cells.guardrails.provider_rules import names  # noqa: F401  # isort: skip
from cells.guardrails.provider_rules import pairings  # noqa: F401  # isort: skip
from cells.guardrails.provider_rules import web  # noqa: F401  # isort: skip
from cells.guardrails.provider_rules import fleet  # noqa: F401  # isort: skip
