"""The pack as a whole: every policy named, described, levelled and remediable, documented in
policy/README.md (generated), served by policy/__main__.py, fed the stack config a real run reads.
"""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from typing import Any

import pulumi_policy
import pytest
import yaml
from policy_support import EU, run
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from cells.core.config.stack_files import PROJECT_ROOT
from cells.guardrails.policies.exposure import BUCKET_POLICY_NOT_PUBLIC, PUBLIC_ACCESS_BLOCK
from cells.guardrails.policies.pack import ALL_POLICIES, POLICIES_BY_NAME, THEMES
from cells.guardrails.policies.readme import BEGIN, END, README, render, table
from cells.guardrails.policies.registry import MANDATORY, policies_of, resource_policy
from cells.guardrails.policies.residency import RESIDENCY
from cells.guardrails.policies.resource_types import S3_BUCKET_POLICY

# --- the pack as a whole --------------------------------------------------------------------------


def test_every_policy_is_named_described_levelled_and_remediable() -> None:
    names = [policy.name for policy in ALL_POLICIES]
    assert len(names) == len(set(names)) >= 20
    for policy in ALL_POLICIES:
        assert policy.description and policy.remediation_steps, policy.name
        assert policy.enforcement_level in (EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY)
    advisory = {x.name for x in ALL_POLICIES if x.enforcement_level == EnforcementLevel.ADVISORY}
    assert advisory == {"gcp-cmek-recommended", "kms-deletion-window"}


def test_the_readme_documents_every_policy_with_its_level() -> None:
    readme = (PROJECT_ROOT / "policy" / "README.md").read_text()
    for policy in ALL_POLICIES:
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{policy.name}` |")), None)
        assert row is not None, f"policy/README.md has no row for {policy.name}"
        level = policy.enforcement_level
        assert level is not None and f"| {level.value} |" in row, policy.name


def test_the_readme_table_is_generated_from_the_registry_and_current() -> None:
    committed = README.read_text()
    assert committed == render(committed), "run: ./dev docs"
    assert table().count("\n") == len(ALL_POLICIES) + 1  # a header, a rule, a row per policy


def test_the_readme_generator_keeps_the_prose_and_refuses_a_readme_without_markers(tmp_path) -> None:
    stale = f"# prose above\n\n{BEGIN}\n| an old table |\n{END}\n\nprose below\n"
    assert render(stale) == f"# prose above\n\n{BEGIN}\n\n{table()}\n\n{END}\n\nprose below\n"
    with pytest.raises(ValueError, match="markers"):
        render("no markers here")


def test_the_pack_project_runs_python_from_the_project_virtualenv() -> None:
    doc = yaml.safe_load((PROJECT_ROOT / "policy" / "PulumiPolicy.yaml").read_text())
    assert doc["runtime"] == {"name": "python", "options": {"virtualenv": "../.venv"}}
    assert doc["description"]


def test_the_pack_entry_point_serves_all_policies(monkeypatch) -> None:
    served: dict[str, Any] = {}
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda **kwargs: served.update(kwargs))
    runpy.run_path(str(PROJECT_ROOT / "policy" / "__main__.py"), run_name="__main__")
    assert served["name"] == "myark-guardrails"
    assert [x.name for x in served["policies"]] == [x.name for x in ALL_POLICIES]


def test_the_pack_entry_point_imported_by_name_serves_nothing(monkeypatch) -> None:
    # Only the engine runs it as __main__; anything else may read it without starting a server.
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda **kwargs: pytest.fail("served on import"))
    entry = runpy.run_path(str(PROJECT_ROOT / "policy" / "__main__.py"), run_name="policy_pack")
    assert entry["PACK_NAME"] == "myark-guardrails" and entry["ALL_POLICIES"] is ALL_POLICIES


def test_the_pack_lists_the_themes_in_order_and_each_policy_once() -> None:
    assert [p for theme in THEMES for p in policies_of(theme.__name__)] == ALL_POLICIES
    assert list(POLICIES_BY_NAME.values()) == ALL_POLICIES
    with pytest.raises(ValueError, match="registered twice"):
        resource_policy(ALL_POLICIES[0].name, "again", MANDATORY, remediation="none")(lambda args: [])


def test_a_real_run_reads_the_stack_config_from_the_environment(monkeypatch) -> None:
    # What the engine hands the pack: its own args (no stack_config) and the config in PULUMI_CONFIG.
    monkeypatch.setenv(
        "PULUMI_CONFIG", json.dumps({"myark:kind": "cell", "myark:cell": json.dumps(EU["myark:cell"])})
    )
    opts = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    provider = PolicyProviderResource("pulumi:providers:aws", {"region": "us-east-1"}, "urn:p", "aws")
    args = ResourceValidationArgs(
        "aws:sqs/queue:Queue", unknown_checking_proxy({}), "urn:q", "q", opts, provider
    )
    found: list[str] = []
    RESIDENCY.validate(args, lambda message, urn=None: found.append(message))
    assert len(found) == 1 and "is in us-east-1, outside residency zone 'eu'" in found[0]


def test_a_value_unknown_during_preview_only_matters_where_a_rule_reads_it() -> None:
    props = {
        "bucket": UNKNOWN_STRING_VALUE,
        "blockPublicAcls": True,
        "blockPublicPolicy": True,
        "ignorePublicAcls": True,
        "restrictPublicBuckets": True,
    }
    assert run(PUBLIC_ACCESS_BLOCK, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", props) == []
    with pytest.raises(UnknownValueError):  # the engine reports "can't run during preview"
        run(BUCKET_POLICY_NOT_PUBLIC, S3_BUCKET_POLICY, {"policy": UNKNOWN_STRING_VALUE})


def test_the_policies_load_without_the_cloud_sdks() -> None:
    # The pack imports neither the AWS nor the GCP SDK: it starts fast next to a real run.
    code = (
        "import sys, cells.guardrails.policies; "
        "print(any(m.startswith(('pulumi_aws', 'pulumi_gcp')) for m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "False", done.stderr
