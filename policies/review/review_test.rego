package knightwatch.review_test

import rego.v1

import data.knightwatch.review

params := {"knightwatch": {"params": {"protected_branch": "main"}}}

subjects(findings) := {f.subject | some f in findings}

deployment(overrides) := object.union(
	{
		"id": "D1",
		"service": "smars",
		"environment": "production",
		"commit": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"short_commit": "aaaaaaaaaaaa",
		"started_at_ns": 1000,
		"deployer": "tech@knight.example",
		"deployer_identity": "tech",
		"approvals": [],
		"on_protected_branch": true,
	},
	overrides,
)

approval(identity, at_ns) := {
	"by": sprintf("%s@knight.example", [identity]),
	"identity": identity,
	"unresolved": "",
	"at_ns": at_ns,
}

# An approval whose value the collector could not resolve to anyone.
unresolved_approval(by, why, at_ns) := {
	"by": by,
	"identity": null,
	"unresolved": why,
	"at_ns": at_ns,
}

# REVIEW-001

test_unapproved_deployment_fails if {
	findings := review.unapproved_deployment with input as {"deployments": [deployment({})]}
	subjects(findings) == {"D1"}
	some f in findings
	f.gap == "it has no approval"
}

test_independent_approval_before_start_passes if {
	d := deployment({"approvals": [approval("lead", 999)]})
	count(review.unapproved_deployment) == 0 with input as {"deployments": [d]}
}

test_self_approval_fails if {
	d := deployment({"approvals": [approval("tech", 10)]})
	findings := review.unapproved_deployment with input as {"deployments": [d]}
	subjects(findings) == {"D1"}
	some f in findings
	f.gap == "the approval by tech@knight.example is by its deployer"
}

test_approval_after_start_fails if {
	d := deployment({"approvals": [approval("lead", 1001)]})
	findings := review.unapproved_deployment with input as {"deployments": [d]}
	subjects(findings) == {"D1"}
	some f in findings
	f.gap == "the approval by lead@knight.example came after it started"
}

test_approval_before_its_commit_was_written_fails if {
	# A sign-off copied forward from an earlier deployment, or dated a year wrong: it came
	# before the deployed commit existed, so it approved something else.
	early := object.union(approval("lead", 10), {"before_commit": true})
	d := deployment({"approvals": [early]})
	findings := review.unapproved_deployment with input as {"deployments": [d]}
	subjects(findings) == {"D1"}
	some f in findings
	f.gap == concat(" ", [
		"the approval by lead@knight.example came more than a day before its commit",
		"aaaaaaaaaaaa was written",
	])
}

test_approval_naming_nobody_fails_and_is_named if {
	nobody := unresolved_approval("Ops Person", "a name, not an address", 10)
	d := deployment({"approvals": [nobody]})
	findings := review.unapproved_deployment with input as {"deployments": [d]}
	subjects(findings) == {"D1"}
	some f in findings
	f.gap == "the approval by Ops Person names nobody (a name, not an address)"
}

test_every_approval_is_named_with_why_it_did_not_count if {
	approvals := [
		approval("tech", 10),
		unresolved_approval("me", "a name, not an address", 10),
		approval("renovate", 10),
		approval("lead", 2000),
	]
	d := deployment({"approvals": approvals})
	findings := review.unapproved_deployment with input as {"deployments": [d]}
		with data.knightwatch.params.bots as ["renovate"]
	findings == {{
		"subject": "D1",
		"service": "smars",
		"environment": "production",
		"commit": "aaaaaaaaaaaa",
		"deployer": "tech@knight.example",
		"gap": concat("; ", [
			"the approval by lead@knight.example came after it started",
			"the approval by me names nobody (a name, not an address)",
			"the approval by renovate@knight.example is by a bot",
			"the approval by tech@knight.example is by its deployer",
		]),
	}}
}

test_deployer_naming_nobody_fails_even_with_an_approval if {
	# Without knowing who deployed, no approval can be shown to come from someone else.
	d := deployment({
		"deployer": "Ops Person",
		"deployer_identity": null,
		"deployer_unresolved": "a name, not an address",
		"approvals": [approval("lead", 10)],
	})
	findings := review.unapproved_deployment with input as {"deployments": [d]}
	some f in findings
	f.gap == concat("", [
		"its deployer Ops Person names nobody (a name, not an address), ",
		"so no approval can be shown to come from someone else",
	])
}

test_approval_at_start_instant_fails if {
	d := deployment({"approvals": [approval("lead", 1000)]})
	subjects(review.unapproved_deployment) == {"D1"} with input as {"deployments": [d]}
}

test_one_good_approval_among_bad_passes if {
	d := deployment({"approvals": [
		approval("tech", 10),
		approval("lead", 1001),
		approval("risk", 500),
	]})
	count(review.unapproved_deployment) == 0 with input as {"deployments": [d]}
}

test_only_failing_deployments_are_reported if {
	good := deployment({"id": "D2", "approvals": [approval("lead", 1)]})
	bad := deployment({"id": "D3"})
	subjects(review.unapproved_deployment) == {"D3"} with input as {"deployments": [good, bad]}
}

# REVIEW-002

commit(author_identity, reviewers) := {
	"short": "short-sha",
	"author": sprintf("%s@knight.example", [author_identity]),
	"author_identity": author_identity,
	"reviewer_identities": reviewers,
	"shipped_in": ["r1"],
}

test_unreviewed_commit_fails if {
	findings := review.unreviewed_commit with input as {"commits": {"c1": commit("dev", [])}}
	subjects(findings) == {"c1"}
}

test_review_by_another_identity_passes if {
	count(review.unreviewed_commit) == 0 with input as {"commits": {"c1": commit("dev", ["lead"])}}
}

test_review_by_author_alias_fails if {
	# The collector resolves the author's second address to the same identity.
	commits := {"c1": commit("dev", ["dev"])}
	subjects(review.unreviewed_commit) == {"c1"} with input as {"commits": commits}
}

test_mixed_commits_reports_only_unreviewed if {
	commits := {
		"c1": commit("dev", ["dev", "lead"]),
		"c2": commit("dev", ["dev"]),
		"c3": commit("lead", []),
	}
	subjects(review.unreviewed_commit) == {"c2", "c3"} with input as {"commits": commits}
}

test_unreviewed_message_fields if {
	sha := "0123456789abcdef0123456789abcdef01234567"
	c := object.union(commit("dev", []), {"short": "0123456789ab"})
	shipped := {"commits": {sha: c}, "range_deployments": {"r1": ["D2", "D1"]}}
	findings := review.unreviewed_commit with input as shipped
	findings == {{
		"subject": "0123456789abcdef0123456789abcdef01234567",
		"short": "0123456789ab",
		"author": "dev@knight.example",
		"deployments": ["D1", "D2"],
		"found": "",
	}}
}

review_line(line, identity, why, excluded) := {
	"line": line,
	"identity": identity,
	"unresolved": why,
	"excluded": excluded,
}

test_reviews_that_did_not_count_are_named if {
	reviews := [
		review_line("Reviewed-by: Dana Doe", null, "a name, not an address", ""),
		review_line("Reviewed-by: dev+review@knight.example", "dev", "", ""),
		review_line("Reviewed-by: bot@knight.example", "dependabot", "", ""),
		review_line(
			"approval by lead@knight.example in review 7", "lead", "",
			"by the change's own author",
		),
	]
	c := object.union(commit("dev", ["dev", "dependabot"]), {"reviews": reviews})
	findings := review.unreviewed_commit with input as {"commits": {"c1": c}}
		with data.knightwatch.params.bots as ["dependabot"]
	some f in findings
	f.found == sprintf(" (%s)", [concat("; ", [
		"Reviewed-by: Dana Doe names nobody: a name, not an address",
		"Reviewed-by: bot@knight.example is by a bot",
		"Reviewed-by: dev+review@knight.example names its author",
		"approval by lead@knight.example in review 7 did not count: by the change's own author",
	])])
}

test_author_naming_nobody_fails_even_with_a_review if {
	c := object.union(commit("dev", ["lead"]), {
		"author_identity": null,
		"author_unresolved": "not a well-formed address",
	})
	findings := review.unreviewed_commit with input as {"commits": {"c1": c}}
	some f in findings
	f.found == " (its author's address names nobody: not a well-formed address)"
}

# REVIEW-003

test_off_branch_deployment_fails if {
	d := deployment({"on_protected_branch": false})
	findings := review.off_branch_deployment with input as {"deployments": [d]}
		with data.knightwatch.params as params.knightwatch.params
	findings == {{"subject": "D1", "commit": "aaaaaaaaaaaa", "branch": "main"}}
}

test_on_branch_deployment_passes if {
	count(review.off_branch_deployment) == 0 with input as {"deployments": [deployment({})]}
		with data.knightwatch.params as params.knightwatch.params
}

# review_bots

test_bot_approval_does_not_count if {
	d := deployment({"approvals": [approval("renovate", 10)]})
	subjects(review.unapproved_deployment) == {"D1"} with input as {"deployments": [d]}
		with data.knightwatch.params.bots as ["renovate"]
}

test_bot_review_does_not_count if {
	commits := {"c1": commit("dev", ["dependabot"])}
	subjects(review.unreviewed_commit) == {"c1"} with input as {"commits": commits}
		with data.knightwatch.params.bots as ["dependabot"]
}

test_human_review_beside_a_bot_counts if {
	c := commit("dev", ["dependabot", "lead"])
	count(review.unreviewed_commit) == 0 with input as {"commits": {"c1": c}}
		with data.knightwatch.params.bots as ["dependabot"]
}

test_deny_gives_each_finding_its_rule_and_message if {
	catalog := {"REVIEW-001": {"message": "Deployment {subject}: {gap}.", "severity": "high"}}
	results := review.deny with input as {"deployments": [deployment({})], "commits": {}}
		with data.knightwatch.rules as catalog
	results == {{
		"rule": "REVIEW-001",
		"subject": "D1",
		"severity": "high",
		"msg": "Deployment D1: it has no approval.",
	}}
}
