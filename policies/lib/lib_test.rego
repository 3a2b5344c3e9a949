package knightwatch.lib_test

import rego.v1

import data.knightwatch.lib

catalog := {"ACME-001": {
	"message": "Deployment {subject} of {service} shipped {count}: {files}.",
	"severity": "high",
	"title": "t",
}}

test_subjects_are_joined_as_their_metadata_declares if {
	lib.pair("D1", "smars-08") == "D1:smars-08"
	lib.event("power_peg", "2012-08-01T13:30:00Z") == "power_peg@2012-08-01T13:30:00Z"
}

test_a_result_fills_the_template_as_the_report_does if {
	finding := {"subject": "D1", "service": "smars", "count": 2, "files": ["a.py", "b.py"]}
	result := lib.result("ACME-001", finding) with data.knightwatch.rules as catalog
	result == {
		"rule": "ACME-001",
		"subject": "D1",
		"severity": "high",
		"msg": "Deployment D1 of smars shipped 2: a.py, b.py.",
	}
}

test_a_value_that_looks_like_a_placeholder_is_not_filled_again if {
	finding := {"subject": "{service}", "service": "smars", "count": 1, "files": []}
	result := lib.result("ACME-001", finding) with data.knightwatch.rules as catalog
	result.msg == "Deployment {service} of smars shipped 1: ."
}

test_without_the_catalog_a_result_still_names_rule_and_subject if {
	result := lib.result("ACME-001", {"subject": "D1"})
	result.severity == "unknown"
	result.msg == "ACME-001 failed for D1 (the message is in knightwatch's data.json)"
}
