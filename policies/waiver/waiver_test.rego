package knightwatch.waiver_test

import rego.v1

import data.knightwatch.waiver

w(subject, expired, matches) := {
	"rule": "REVIEW-001", "subject": subject, "reason": "r", "approved_by": "cro",
	"expires": "2024-03-01", "expired": expired, "matches": matches, "refused": "",
}

test_expired_waiver_is_reported if {
	findings := waiver.stale_waiver with input as {"waivers": [w("D1", true, 3)]}
	findings == {{
		"subject": "REVIEW-001:D1", "approved_by": "cro", "reason": "r",
		"problem": "expired on 2024-03-01 and waives nothing",
	}}
}

test_unused_waiver_is_reported if {
	findings := waiver.stale_waiver with input as {"waivers": [w("D*", false, 0)]}
	{f.problem | some f in findings} == {"matches no finding"}
}

test_live_used_waiver_passes if {
	count(waiver.stale_waiver) == 0 with input as {"waivers": [w("D1", false, 1)]}
}

test_refused_waiver_is_reported_whatever_it_matched if {
	why := "not applied: x is not among waiver_approvers"
	refused := object.union(w("D1", false, 2), {"refused": why})
	findings := waiver.stale_waiver with input as {"waivers": [refused]}
	{f.problem | some f in findings} == {"not applied: x is not among waiver_approvers"}
}

test_deny_gives_each_finding_its_rule_and_message if {
	catalog := {"WAIVER-001": {"message": "Waiver for {subject} {problem}.", "severity": "medium"}}
	results := waiver.deny with input as {"waivers": [w("D*", false, 0)]}
		with data.knightwatch.rules as catalog
	{r.msg | some r in results} == {"Waiver for REVIEW-001:D* matches no finding."}
}
