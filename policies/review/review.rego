# Review rules: a second person between a change and production.
#
# Python establishes the facts (identities resolved through identities.yaml and .mailmap, or
# null with the reason a value names nobody; timestamps as integer nanoseconds, the commits
# each deployment shipped, reviewers of each commit from review records and trailers); these
# rules only decide.
package knightwatch.review

import rego.v1

import data.knightwatch.lib

# METADATA
# title: Deployment approved by someone other than its deployer
# description: >-
#   Every deployment needs an approval given before it started by an identity other than the
#   person who deployed it, and not more than a day before its commit was written: an earlier
#   one approved something else. Knight Capital's 2012 deployment of new SMARS code was
#   performed by one technician and reviewed by nobody.
# custom:
#   id: REVIEW-001
#   per_deployment: true
#   subject: "{deployment}"
#   severity: high
#   controls:
#     - SOX ITGC change management
#     - NIST SP 800-53 CM-3
#     - NIST SP 800-53 CM-5(4)
#     - SEC Rule 15c3-5(b)
#     - SEC Regulation SCI 1001(a)
#   requires: [deploys]
#   message: >-
#     Deployment {subject} of {service} to {environment} at commit {commit} by {deployer}
#     was not independently approved: {gap}.
unapproved_deployment contains finding if {
	some deployment in input.deployments
	not independently_approved(deployment)
	finding := {
		"subject": deployment.id,
		"service": deployment.service,
		"environment": deployment.environment,
		"commit": deployment.short_commit,
		"deployer": deployment.deployer,
		"gap": approval_gap(deployment),
	}
}

independently_approved(deployment) if {
	is_string(deployment.deployer_identity)
	some approval in deployment.approvals
	counts_as_approval(approval, deployment)
}

counts_as_approval(approval, deployment) if {
	is_string(approval.identity)
	approval.at_ns < deployment.started_at_ns
	approval.identity != deployment.deployer_identity
	not bots[approval.identity]
	not approval.before_commit
}

# Identities whose reviews and approvals never count (review_bots in knightwatch.yaml).
bots := {bot | some bot in data.knightwatch.params.bots}

approval_gap(deployment) := "it has no approval" if {
	count(deployment.approvals) == 0
} else := sprintf(
	"its deployer %s names nobody (%s), so no approval can be shown to come from someone else",
	[deployment.deployer, deployment.deployer_unresolved],
) if {
	not is_string(deployment.deployer_identity)
} else := concat("; ", sort([why |
	some approval in deployment.approvals
	why := approval_not_counted(approval, deployment)
]))

# Why one approval did not count, naming it as written.
approval_not_counted(approval, deployment) := sprintf(
	"the approval by %s names nobody (%s)",
	[approval.by, approval.unresolved],
) if {
	not is_string(approval.identity)
} else := sprintf("the approval by %s is by its deployer", [approval.by]) if {
	approval.identity == deployment.deployer_identity
} else := sprintf("the approval by %s is by a bot", [approval.by]) if {
	bots[approval.identity]
} else := sprintf("the approval by %s came after it started", [approval.by]) if {
	approval.at_ns >= deployment.started_at_ns
} else := sprintf(
	"the approval by %s came more than a day before its commit %s was written",
	[approval.by, deployment.short_commit],
) if {
	approval.before_commit
}

# METADATA
# title: Every shipped commit reviewed by someone other than its author
# description: >-
#   Each commit a deployment shipped (reachable from its commit and not from the previous
#   deployment of the same service and environment that reached any host) must carry a review
#   by an identity other than its author: an approval in a review record, or a Reviewed-by or
#   Approved-by trailer.
# custom:
#   id: REVIEW-002
#   subject: "{commit}"
#   cause: "{author}"
#   cause_waivers: false
#   statement: Commits by {author} were shipped with no review by anyone other than their author
#   gate: [deploy, merge-with-reviews]
#   severity: high
#   controls:
#     - SOX ITGC change management
#     - NIST SP 800-53 CM-3
#     - NIST SP 800-53 CM-5(4)
#     - SEC Rule 15c3-5(b)
#   requires: [deploys, history]
#   message: >-
#     Commit {short} by {author} was shipped by {deployments} with no review by anyone other
#     than its author{found}.
unreviewed_commit contains finding if {
	some sha, commit in input.commits
	not independently_reviewed(commit)
	finding := {
		"subject": sha,
		"short": commit.short,
		"author": commit.author,
		"deployments": sort([id |
			some key in commit.shipped_in
			some id in input.range_deployments[key]
		]),
		"found": review_gap(commit),
	}
}

independently_reviewed(commit) if {
	is_string(commit.author_identity)
	some reviewer in commit.reviewer_identities
	reviewer != commit.author_identity
	not bots[reviewer]
}

# What was found and why none of it counted; empty when nothing was found.
review_gap(commit) := sprintf(
	" (its author's address names nobody: %s)",
	[commit.author_unresolved],
) if {
	not is_string(commit.author_identity)
} else := "" if {
	count(object.get(commit, "reviews", [])) == 0
} else := sprintf(" (%s)", [concat("; ", sort({why |
	some review in commit.reviews
	why := review_not_counted(review, commit)
}))])

# Why one review did not count, naming it as found.
review_not_counted(review, commit) := sprintf(
	"%s names nobody: %s",
	[review.line, review.unresolved],
) if {
	not is_string(review.identity)
} else := sprintf(
	"%s did not count: %s",
	[review.line, review.excluded],
) if {
	review.excluded != ""
} else := sprintf("%s names its author", [review.line]) if {
	review.identity == commit.author_identity
} else := sprintf("%s is by a bot", [review.line]) if {
	bots[review.identity]
}

# METADATA
# title: Deployed commit is on the protected branch
# description: >-
#   A deployed commit must be reachable from the protected branch (default main), so that what
#   runs in production went through the branch's review and merge controls.
# custom:
#   id: REVIEW-003
#   per_deployment: true
#   subject: "{deployment}"
#   gate: [deploy]
#   severity: high
#   controls:
#     - SOX ITGC change management
#     - NIST SP 800-53 CM-3
#     - SEC Rule 15c3-5(b)
#   requires: [deploys]
#   message: >-
#     Deployment {subject} shipped commit {commit}, which is not reachable from the protected
#     branch {branch}.
off_branch_deployment contains finding if {
	some deployment in input.deployments
	not deployment.on_protected_branch
	finding := {
		"subject": deployment.id,
		"commit": deployment.short_commit,
		"branch": data.knightwatch.params.protected_branch,
	}
}

# Every finding of the rules above, with its rule id and message, for `opa eval` and
# `conftest test` on exported input (knightwatch reads each rule and its METADATA itself).
deny contains result if {
	some finding in unapproved_deployment
	result := lib.result("REVIEW-001", finding)
}

deny contains result if {
	some finding in unreviewed_commit
	result := lib.result("REVIEW-002", finding)
}

deny contains result if {
	some finding in off_branch_deployment
	result := lib.result("REVIEW-003", finding)
}
