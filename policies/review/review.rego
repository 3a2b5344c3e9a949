# Review rules: a second person between a change and production.
#
# Python establishes the facts (identities resolved through identities.yaml, timestamps as
# integer nanoseconds, the commits each deployment shipped, reviewers of each commit from
# review records and trailers); these rules only decide.
package knightwatch.review

import rego.v1

# METADATA
# title: Deployment approved by someone other than its deployer
# description: >-
#   Every deployment needs an approval given before it started by an identity other than the
#   person who deployed it. Knight Capital's 2012 deployment of new SMARS code was performed by
#   one technician and reviewed by nobody.
# custom:
#   id: REVIEW-001
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
	some approval in deployment.approvals
	approval.at_ns < deployment.started_at_ns
	approval.identity != deployment.deployer_identity
	not bots[approval.identity]
}

# Identities whose reviews and approvals never count (review_bots in knightwatch.yaml).
bots := {bot | some bot in data.knightwatch.params.bots}

approval_gap(deployment) := "it has no approval" if {
	count(deployment.approvals) == 0
} else := "its only approvals are by its deployer" if {
	every approval in deployment.approvals {
		approval.identity == deployment.deployer_identity
	}
} else := "no approval by another person came before it started"

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
#   gate: [deploy]
#   severity: high
#   controls:
#     - SOX ITGC change management
#     - NIST SP 800-53 CM-3
#     - NIST SP 800-53 CM-5(4)
#     - SEC Rule 15c3-5(b)
#   requires: [deploys, history]
#   message: >-
#     Commit {short} by {author} was shipped by {deployments} with no review by anyone other
#     than its author.
unreviewed_commit contains finding if {
	some sha, commit in input.commits
	not independently_reviewed(commit)
	finding := {
		"subject": sha,
		"short": substring(sha, 0, 12),
		"author": commit.author,
		"deployments": commit.shipped_by,
	}
}

independently_reviewed(commit) if {
	some reviewer in commit.reviewer_identities
	reviewer != commit.author_identity
	not bots[reviewer]
}

# METADATA
# title: Deployed commit is on the protected branch
# description: >-
#   A deployed commit must be reachable from the protected branch (default main), so that what
#   runs in production went through the branch's review and merge controls.
# custom:
#   id: REVIEW-003
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
