# Waiver hygiene. Evaluated after every other rule: input.waivers says, for each waiver,
# whether it has expired (against the as-of date) and how many findings it matched.
package knightwatch.waiver

import rego.v1

import data.knightwatch.lib

# METADATA
# title: Waivers are current and used
# description: >-
#   A waiver whose expires date is before the as-of date has expired: it waives nothing and is
#   reported, as is one an audit did not apply (its approver not among those the auditor
#   named). A live waiver that matches no finding is reported too, so that exceptions do
#   not outlive the problem they excused or quietly cover a future one.
# custom:
#   id: WAIVER-001
#   subject: "{rule}:{subject}"
#   severity: medium
#   controls:
#     - SOX ITGC change management
#     - NIST SP 800-53 CA-7
#   requires: []
#   stage: waivers
#   message: "Waiver for {subject} (approved by {approved_by}: {reason}) {problem}."
stale_waiver contains finding if {
	some waiver in input.waivers
	problem := waiver_problem(waiver)
	finding := {
		"subject": lib.pair(waiver.rule, waiver.subject),
		"approved_by": waiver.approved_by,
		"reason": waiver.reason,
		"problem": problem,
	}
}

waiver_problem(waiver) := waiver.refused if {
	waiver.refused != ""
} else := sprintf("expired on %s and waives nothing", [waiver.expires]) if {
	waiver.expired
} else := "matches no finding" if {
	waiver.matches == 0
}

# Every finding of the rule above, with its rule id and message, for `opa eval` and
# `conftest test` on exported input (knightwatch reads the rule and its METADATA itself).
deny contains result if {
	some finding in stale_waiver
	result := lib.result("WAIVER-001", finding)
}
