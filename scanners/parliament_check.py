"""Run inside .scanners/: parliament over IAM documents read as JSON from stdin.

Input: [{"kind": "trust"|"identity"|"resource"|"key"|"scp", "document": "<policy JSON>"}, ...].
Output: one list of findings per document, in order: {"issue", "severity", "title", "detail"}.
Community auditors are on; the minimum severity is parliament's default (LOW).
"""

import json
import sys
from pathlib import Path

import parliament
from parliament import analyze_policy_string, enhance_finding, override_config
from parliament.cli import is_finding_filtered

# The community auditors' findings are defined in their own file (as parliament's CLI does it).
override_config(Path(parliament.__file__).parent / "community_auditors" / "config_override.yaml")


# Parliament reads every document as an identity policy. Two of its findings are the grammar of
# other document kinds, not flaws: a role's trust policy has no Resource element (IAM refuses one),
# and a key policy's Resource must be "*" (it means "this key"; KMS refuses anything else).
NOT_APPLICABLE = {
    "trust": {("MALFORMED", "Statement contains neither Resource nor NotResource")},
    "key": {("RESOURCE_STAR", None)},
}


def not_applicable(kind: str, finding) -> bool:
    return any(
        finding.issue == issue and (detail is None or finding.detail == detail)
        for issue, detail in NOT_APPLICABLE.get(kind, ())
    )


def findings(kind: str, document: str) -> list[dict]:
    try:
        policy = analyze_policy_string(document, include_community_auditors=True)
    except Exception as exc:  # parliament's own crash on a document is a finding, not a pass
        return [
            {"issue": "EXCEPTION", "severity": "CRITICAL", "title": "parliament crashed", "detail": repr(exc)}
        ]
    out = []
    for finding in policy.findings:
        enhance_finding(finding)
        if is_finding_filtered(finding, "LOW") or not_applicable(kind, finding):
            continue
        out.append(
            {
                "issue": finding.issue,
                "severity": finding.severity,
                "title": finding.title,
                "detail": json.dumps(finding.detail, default=str)[:300],
            }
        )
    return out


json.dump([findings(item["kind"], item["document"]) for item in json.load(sys.stdin)], sys.stdout)
