package knightwatch.deadcode_test

import rego.v1

import data.knightwatch.deadcode

subjects(findings) := {f.subject | some f in findings}

flag(status, overrides) := object.union(
	{"status": status, "purpose": "p", "owner": "o", "remove_by": null, "remove_by_end_ns": null},
	overrides,
)

registry(flags) := {
	"path": "flags.yaml",
	"readable": true,
	"flags": flags,
	"retired": sort([n | some n, f in flags; f.status == "retired"]),
	"dated": sort([n | some n, f in flags; f.remove_by != null]),
}

# Each deployment's registry is its own entry of input.registries, keyed by its id.
deployment(id, registry_flags, overrides) := object.union(
	{
		"id": id,
		"started_at_ns": 1000,
		"registry": id,
		"registry_flags": registry_flags,
		"references": {},
		"retired_code": [],
	},
	overrides,
)

# Each deployment's references are its own entry of input.reference_sets, keyed by its id.
world(deployments) := {
	"deployments": [object.union(d, {"reference_set": d.id}) | some d in deployments],
	"registries": {d.id: registry(d.registry_flags) | some d in deployments},
	"reference_sets": {d.id: d.references | some d in deployments},
}

refs(names) := {name: {"files": ["src/a.py"], "count": 1} | some name in names}

# DEAD-001

test_retired_flag_referenced_fails if {
	flags := {"old": flag("retired", {}), "live": flag("active", {})}
	d := deployment("D1", flags, {"references": refs(["old", "live"])})
	findings := deadcode.retired_flag_referenced with input as world([d])
	subjects(findings) == {"D1:old"}
	some f in findings
	f.count == "1 file"
}

# Files holding the flag under another spelling are shown with it; the location is the path.
test_retired_flag_referenced_under_another_spelling_shows_it if {
	shown := {"files": ["src/a.py"], "count": 1, "shown": ["src/a.py (as OLD)"]}
	d := deployment("D1", {"old": flag("retired", {})}, {"references": {"old": shown}})
	findings := deadcode.retired_flag_referenced with input as world([d])
	{[f.files, f.location] | some f in findings} == {[["src/a.py (as OLD)"], "src/a.py"]}
}

test_retired_flag_not_referenced_passes if {
	d := deployment("D1", {"old": flag("retired", {})}, {})
	count(deadcode.retired_flag_referenced) == 0 with input as world([d])
}

# A retired flag dropped from the registry, its references left behind, is still retired.
test_retired_flag_dropped_from_the_registry_fails if {
	d := deployment("D1", {"live": flag("active", {})}, {"references": refs(["old", "live"])})
	dropped := object.union(world([d]), {"retired_in_history": ["old"]})
	subjects(deadcode.retired_flag_referenced) == {"D1:old"} with input as dropped
	count(deadcode.unregistered_flag_referenced) == 0 with input as dropped
}

test_active_flag_referenced_passes if {
	d := deployment("D1", {"live": flag("active", {})}, {"references": refs(["live"])})
	count(deadcode.retired_flag_referenced) == 0 with input as world([d])
}

# DEAD-002

test_changed_purpose_fails if {
	history := {"pp": {"purposes": [
		{"purpose": "Power Peg", "commit": "c1", "short": "c1"},
		{"purpose": "RLP", "commit": "c2", "short": "c2"},
	]}}
	findings := deadcode.repurposed_flag with input as {"flag_history": history}
	findings == {{
		"subject": "pp",
		"detail": "its purpose changed: \"Power Peg\" from c1, then \"RLP\" from c2",
	}}
}

test_a_purpose_given_back_is_shown_again if {
	power_peg := {"purpose": "Power Peg", "commit": "c1", "short": "c1"}
	rlp := {"purpose": "RLP", "commit": "c2", "short": "c2"}
	back := {"purpose": "Power Peg", "commit": "c3", "short": "c3"}
	history := {"pp": {"purposes": [power_peg, rlp], "changes": [rlp, back]}}
	findings := deadcode.repurposed_flag with input as {"flag_history": history}
	stood := concat(", then ", [`"Power Peg" from c1`, `"RLP" from c2`, `"Power Peg" from c3`])
	findings == {{"subject": "pp", "detail": sprintf("its purpose changed: %s", [stood])}}
}

test_revived_flag_fails if {
	history := {"pp": {
		"purposes": [{"purpose": "same", "commit": "c1", "short": "c1"}],
		"revived": {"retired": "c2", "retired_short": "c2", "active": "c3", "active_short": "c3"},
	}}
	findings := deadcode.repurposed_flag with input as {"flag_history": history}
	findings == {{"subject": "pp", "detail": "retired at c2 and active again at c3"}}
}

test_each_return_from_retirement_is_named if {
	history := {"pp": {
		"purposes": [{"purpose": "same", "commit": "c1", "short": "c1"}],
		"revived": {"retired": "c2", "retired_short": "c2", "active": "c3", "active_short": "c3"},
		"revived_again": [
			{"retired": "c4", "retired_short": "c4", "active": "c5", "active_short": "c5"},
		],
	}}
	findings := deadcode.repurposed_flag with input as {"flag_history": history}
	detail := "retired at c2 and active again at c3; retired at c4 and active again at c5"
	findings == {{"subject": "pp", "detail": detail}}
}

test_a_flag_a_merge_gate_candidate_writes_active_after_main_retired_it_fails if {
	revived := {
		"retired": "m2", "retired_short": "m2", "active": "p1", "active_short": "p1",
		"onto": true,
	}
	history := {"pp": {
		"purposes": [{"purpose": "same", "commit": "c1", "short": "c1"}],
		"revived": revived,
	}}
	findings := deadcode.repurposed_flag with input as {"flag_history": history}
	findings == {{"subject": "pp", "detail": concat("", [
		"retired at m2 on the protected branch and written active again by p1, ",
		"which branched off before it",
	])}}
}

test_a_flag_revived_under_another_spelling_says_so if {
	history := {"pp": {
		"purposes": [{"purpose": "same", "commit": "c1", "short": "c1"}],
		"revived": {"retired": "c2", "retired_short": "c2", "active": "c3", "active_short": "c3"},
		"spellings": [
			{"name": "pp", "shown": "pp", "commit": "c1", "short": "c1"},
			{"name": "PP", "shown": "PP", "commit": "c3", "short": "c3"},
		],
	}}
	findings := deadcode.repurposed_flag with input as {"flag_history": history}
	findings == {{
		"subject": "pp",
		"detail": concat("; ", [
			"its name was respelled: \"pp\" from c1, then \"PP\" from c3",
			"retired at c2 and active again at c3",
		]),
	}}
}

test_a_flag_only_respelled_passes if {
	history := {"pp": {
		"purposes": [{"purpose": "same", "commit": "c1", "short": "c1"}],
		"spellings": [
			{"name": "pp", "shown": "pp", "commit": "c1", "short": "c1"},
			{"name": "PP", "shown": "PP", "commit": "c3", "short": "c3"},
		],
	}}
	count(deadcode.repurposed_flag) == 0 with input as {"flag_history": history}
}

test_stable_flag_passes if {
	history := {"pp": {"purposes": [{"purpose": "same", "commit": "c1", "short": "c1"}]}}
	count(deadcode.repurposed_flag) == 0 with input as {"flag_history": history}
}

# DEAD-003

test_overdue_active_flag_fails_once_with_every_deployment if {
	f := flag("active", {"remove_by": "2024-01-01", "remove_by_end_ns": 1000})
	d1 := deployment("D1", {"tmp": f}, {"started_at_ns": 1000})
	d2 := deployment("D2", {"tmp": f}, {"started_at_ns": 2000})
	d0 := deployment("D0", {"tmp": f}, {"started_at_ns": 999})
	findings := deadcode.overdue_flag with input as world([d2, d0, d1])
	findings == {{
		"subject": "tmp",
		"remove_by": "2024-01-01",
		"count": 2,
		"deployments": ["D1", "D2"],
		"moved": "",
	}}
}

# A remove_by the registry moved later, or dropped, after an earlier version gave one: the
# earliest date recorded in the deployed commit's history applies, and the message says so.
earlier(now, moved) := {"tmp": {
	"remove_by": "2024-01-01",
	"remove_by_end_ns": 1000,
	"short": "c1",
	"now": now,
	"moved_at": moved,
	"moved_short": moved,
}}

test_a_remove_by_moved_later_still_applies if {
	later := flag("active", {"remove_by": "2024-12-31", "remove_by_end_ns": 9000})
	d1 := deployment("D1", {"tmp": later}, {"earlier_remove_by": earlier("2024-12-31", "c2")})
	d2 := deployment("D2", {"tmp": flag("active", {})}, {"earlier_remove_by": earlier(null, null)})
	findings := deadcode.overdue_flag with input as world([d1, d2])
	some f in findings
	f.remove_by == "2024-01-01"
	f.deployments == ["D1", "D2"]
	f.moved == concat("", [
		"; the registry gave 2024-01-01 at c1 and later dropped it: the earliest date ",
		"recorded applies; the registry gave 2024-01-01 at c1 and moved it to 2024-12-31 at ",
		"c2: the earliest date recorded applies",
	])
}

# A flag renamed: its old name's date applies, and the version that renamed it moved it.
test_a_renamed_flag_keeps_its_old_names_remove_by if {
	renamed := object.union(earlier(null, "c2").tmp, {"renamed_from": "old_tmp"})
	d := deployment("D1", {"tmp": flag("active", {})}, {"earlier_remove_by": {"tmp": renamed}})
	findings := deadcode.overdue_flag with input as world([d])
	some f in findings
	f.subject == "tmp"
	f.moved == concat("", [
		"; the registry gave 2024-01-01 at c1 and renamed old_tmp to tmp at c2: the earliest ",
		"date recorded applies",
	])
}

test_an_earlier_remove_by_of_a_retired_flag_is_not_overdue if {
	d := deployment("D1", {"tmp": flag("retired", {})}, {"earlier_remove_by": earlier(null, null)})
	count(deadcode.overdue_flag) == 0 with input as world([d])
}

# A flag the registry dropped while the deployed code still uses it: Python gives its
# earliest date in earlier_remove_by, and it is overdue as an active flag is.
test_a_flag_dropped_from_the_registry_is_still_overdue if {
	d := deployment("D1", {}, {"earlier_remove_by": earlier(null, null)})
	findings := deadcode.overdue_flag with input as world([d])
	some f in findings
	f.subject == "tmp"
	f.deployments == ["D1"]
}

test_retired_or_undated_flags_are_not_overdue if {
	retired := flag("retired", {"remove_by": "2024-01-01", "remove_by_end_ns": 10})
	undated := flag("active", {})
	d := deployment("D1", {"a": retired, "b": undated}, {})
	count(deadcode.overdue_flag) == 0 with input as world([d])
}

# DEAD-004

test_retired_code_present_fails if {
	code := [
		{"path": "legacy/", "reason": "gone", "files": ["legacy/a.py", "legacy/b.py"], "count": 2},
		{"path": "old.py", "reason": "gone", "files": [], "count": 0},
	]
	d := deployment("D1", {}, {"retired_code": code})
	findings := deadcode.retired_code_present with input as world([d])
	subjects(findings) == {"D1:legacy/"}
	some f in findings
	f.count == "2 files"
	f.listed == ""
}

# An entry an earlier version of the registry listed, dropped since, names that version.
test_retired_code_dropped_from_the_registry_fails if {
	code := [{
		"path": "legacy/",
		"reason": "gone",
		"files": ["legacy/a.py"],
		"count": 1,
		"listed_in": "0123456789abcdef0123456789abcdef01234567",
		"listed_in_short": "0123456789ab",
	}]
	d := deployment("D1", {}, {"retired_code": code})
	findings := deadcode.retired_code_present with input as world([d])
	subjects(findings) == {"D1:legacy/"}
	some f in findings
	f.listed == "; listed under retired_code at 0123456789ab and since dropped from the registry"
}

# Files holding the retired code's content at another path: named where some files are not.
test_retired_code_moved_names_the_files_that_hold_its_content if {
	moved := {
		"path": "legacy/", "reason": "gone", "files": ["src/a.py"], "count": 1,
		"moved": ["src/a.py"],
	}
	both := {
		"path": "old.py", "reason": "gone", "files": ["old.py", "src/old.py"], "count": 2,
		"moved": ["src/old.py"],
	}
	d := deployment("D1", {}, {"retired_code": [moved, both]})
	findings := deadcode.retired_code_present with input as world([d])
	subjects(findings) == {"D1:legacy/", "D1:old.py"}
	{f.path: f.moved | some f in findings} == {
		"legacy/": " (the content of the retired code, at another path)",
		"old.py": " (src/old.py: the content of the retired code, at another path)",
	}
}

# DEAD-005

test_unregistered_flag_referenced_fails if {
	d := deployment("D1", {"live": flag("active", {})}, {"references": refs(["live", "ghost"])})
	subjects(deadcode.unregistered_flag_referenced) == {"D1:ghost"} with input as world([d])
}

test_unreadable_registry_is_not_dead_005 if {
	d := deployment("D1", {}, {"references": refs(["ghost"])})
	broken := object.union(registry({}), {"readable": false})
	unreadable := object.union(world([d]), {"registries": {"D1": broken}})
	count(deadcode.unregistered_flag_referenced) == 0 with input as unreadable
}

# DEAD-006

test_unreadable_registry_version_fails if {
	errors := [{"commit": "abc", "short": "abc", "path": "flags.yaml", "error": "bad"}]
	findings := deadcode.unreadable_registry with input as {"registry_errors": errors}
	findings == {{
		"subject": "abc:flags.yaml",
		"commit": "abc",
		"path": "flags.yaml",
		"short": "abc",
		"error": "bad",
		"location": "flags.yaml",
	}}
}

test_deny_gives_each_finding_its_rule_and_message if {
	catalog := {"DEAD-002": {"message": "Flag {subject} is reused: {detail}.", "severity": "s"}}
	purposes := [{"purpose": "A", "short": "c1"}, {"purpose": "B", "short": "c2"}]
	history := {"pp": {"purposes": purposes}}
	results := deadcode.deny with input as {"deployments": [], "flag_history": history}
		with data.knightwatch.rules as catalog
	results == {{
		"rule": "DEAD-002",
		"subject": "pp",
		"severity": "s",
		"msg": "Flag pp is reused: its purpose changed: \"A\" from c1, then \"B\" from c2.",
	}}
}

# DEAD-007

switched(flag, enabled, retired_in) := unreadable_switched(flag, enabled, retired_in, [])

unreadable_switched(flag, enabled, retired_in, unreadable_in) := {
	"flag": flag,
	"service": "smars",
	"environment": "production",
	"enabled": enabled,
	"at": "2012-08-01T13:30:00Z",
	"by": "ops@knight.example",
	"retired_in": retired_in,
	"unreadable_in": unreadable_in,
}

test_a_retired_flag_switched_on_fails_naming_the_code if {
	events := [switched("power_peg", true, ["6a3b2c1 (observed on smars-08)"])]
	findings := deadcode.retired_flag_enabled with input as {"flag_events": events}
	subjects(findings) == {"power_peg@2012-08-01T13:30:00Z"}
	some finding in findings
	said := "the registry of the code running there marks it retired"
	finding.detail == sprintf("%s: 6a3b2c1 (observed on smars-08)", [said])
}

test_a_flag_switched_on_where_no_code_retired_it_passes if {
	events := [switched("power_peg", true, [])]
	count(deadcode.retired_flag_enabled) == 0 with input as {"flag_events": events}
}

test_a_retired_flag_switched_off_passes if {
	events := [switched("power_peg", false, ["6a3b2c1 (deployment D1)"])]
	count(deadcode.retired_flag_enabled) == 0 with input as {"flag_events": events}
}

test_a_flag_switched_on_where_the_running_registry_cannot_be_read_fails if {
	unreadable := ["6a3b2c1 (deployment D1): flags.yaml: bad"]
	events := [unreadable_switched("power_peg", true, [], unreadable)]
	findings := deadcode.retired_flag_enabled with input as {"flag_events": events}
	subjects(findings) == {"power_peg@2012-08-01T13:30:00Z"}
	some finding in findings
	finding.detail == concat("", [
		"the registry of the code running there cannot be read, so whether it retired the flag ",
		"is not known: 6a3b2c1 (deployment D1): flags.yaml: bad",
	])
}

test_a_flag_switched_off_where_the_running_registry_cannot_be_read_passes if {
	unreadable := ["6a3b2c1 (deployment D1): flags.yaml: bad"]
	events := [unreadable_switched("power_peg", false, [], unreadable)]
	count(deadcode.retired_flag_enabled) == 0 with input as {"flag_events": events}
}
