# Dead-code and flag-hygiene rules: retired flags and code gone, flags never repurposed.
#
# Python reads the flag registry at each deployed commit and over its whole history, searches
# each deployed commit's code for flag names in one git call, and lists which retired code
# paths it still holds. These rules only decide.
package knightwatch.deadcode

import rego.v1

import data.knightwatch.lib

# METADATA
# title: Retired flag no longer referenced in deployed code
# description: >-
#   A flag the registry marks retired at the deployed commit (or marked retired in an earlier
#   version and has since dropped) must not appear, as a whole word, in any tracked file of that
#   commit other than the registry (and files excluded by reference_exclude): under its name or
#   a usual spelling of it (POWER_PEG, isPowerPegEnabled). Power Peg's flag was retired in
#   2003; the code it switched on stayed.
# custom:
#   id: DEAD-001
#   per_deployment: true
#   subject: "{deployment}:{flag}"
#   cause: "{flag}"
#   statement: Retired flag {flag} is still referenced in deployed code
#   gate: [merge, deploy]
#   severity: high
#   controls:
#     - NIST SP 800-53 CM-3
#     - NIST SP 800-53 CM-7
#     - SEC Rule 15c3-5(b)
#     - SEC Regulation SCI 1001(a)
#   requires: [deploys, registry, code]
#   message: >-
#     Deployment {deployment} shipped code that still references retired flag {flag} in
#     {count}: {files}.
retired_flag_referenced contains finding if {
	some deployment in input.deployments
	some name, reference in input.reference_sets[deployment.reference_set]
	retired_at(deployment, name)
	finding := {
		"subject": lib.pair(deployment.id, name),
		"deployment": deployment.id,
		"flag": name,
		"files": object.get(reference, "shown", reference.files),
		"count": files_count(reference.count),
		"location": reference.files[0],
	}
}

# Retired in the registry at the deployed commit, or retired in an earlier version and since
# dropped from the registry: removing a retired flag does not make its references current.
retired_at(deployment, name) if {
	input.registries[deployment.registry].flags[name].status == "retired"
}

retired_at(deployment, name) if {
	not input.registries[deployment.registry].flags[name]
	retired_in_history[name]
}

retired_in_history contains name if some name in input.retired_in_history

files_count(1) := "1 file"

files_count(n) := sprintf("%d files", [n]) if n != 1

# METADATA
# title: Flag never repurposed
# description: >-
#   A flag's purpose must never change between two versions of the registry in the
#   repository's history, and a retired flag must never become active again, under its name
#   or another spelling of it (case, separators, invisible characters). Knight's 2012 code
#   reused the flag that had switched on Power Peg.
# custom:
#   id: DEAD-002
#   subject: "{flag}"
#   gate: [merge, deploy]
#   severity: critical
#   controls:
#     - NIST SP 800-53 CM-3
#     - NIST SP 800-53 CM-4
#     - SEC Rule 15c3-5(b)
#     - SEC Regulation SCI 1001(a)
#   requires: [registry]
#   message: "Flag {subject} was repurposed: {detail}."
repurposed_flag contains finding if {
	some name, record in input.flag_history
	parts := purpose_changes(record) | revival(record)
	count(parts) > 0
	finding := {"subject": name, "detail": concat("; ", sort(parts | respelled(record)))}
}

purpose_changes(record) := {text |
	count(record.purposes) > 1
	stood := [sprintf("\"%s\" from %s", [p.purpose, p.short]) | some p in purpose_line(record)]
	text := sprintf("its purpose changed: %s", [concat(", then ", stood)])
}

# Each purpose in turn: a purpose given back (Power Peg, RLP, Power Peg again) is shown again,
# where the history gives its changes; otherwise each purpose once, as it first appeared.
purpose_line(record) := array.concat([record.purposes[0]], record.changes) if {
	record.changes
} else := record.purposes

# Each return from retirement: the first, and any later one (retired again, then active again).
revival(record) := {text |
	some back in array.concat([first | first := record.revived], revived_again(record))
	text := revival_text(back)
}

revived_again(record) := object.get(record, "revived_again", [])

revival_text(r) := sprintf("retired at %s and active again at %s", [
	r.retired_short,
	r.active_short,
]) if not r.onto

# At a merge gate: retired on the protected branch after the candidate branched off, and
# written active by the candidate's own entry, which the merge would bring the retirement to.
revival_text(r) := sprintf("retired at %s on the protected branch and %s, %s", [
	r.retired_short,
	sprintf("written active again by %s", [r.active_short]),
	"which branched off before it",
]) if r.onto

# A name the registry wrote in several ways (POWER_PEG, power-peg for power_peg) is one flag:
# Python keys the history by letters and digits, case folded. Said only beside a change.
respelled(record) := {text |
	count(record.spellings) > 1
	spelt := [sprintf("\"%s\" from %s", [s.shown, s.short]) | some s in record.spellings]
	text := sprintf("its name was respelled: %s", [concat(", then ", spelt)])
}

# METADATA
# title: Active flag removed by its remove_by date
# description: >-
#   A flag still active in the registry at a deployed commit must not be past its remove_by
#   date (a UTC day) when that deployment starts: temporary flags left in place are how dead
#   code accumulates. The date is the earliest remove_by any version of the registry in that
#   commit's history gave the flag: moving it later, or dropping it, does not hold it off;
#   nor does deleting the flag's entry while the deployed code still references it, nor
#   renaming the flag (the new name keeps the old one's dates).
# custom:
#   id: DEAD-003
#   subject: "{flag}"
#   gate: [merge, deploy]
#   severity: medium
#   controls:
#     - NIST SP 800-53 CM-3
#     - NIST SP 800-53 CM-7
#   requires: [deploys, registry]
#   message: >-
#     Flag {subject} was to be removed by {remove_by} but was still active when {count}
#     deployments started: {deployments}{moved}.
overdue_flag contains finding if {
	some name in {late.flag | some late in overdue}
	ids := sort([late.deployment | some late in overdue; late.flag == name])
	dates := sort([late.remove_by | some late in overdue; late.flag == name])
	moves := sort({late.moved | some late in overdue; late.flag == name; late.moved != ""})
	finding := {
		"subject": name,
		"remove_by": dates[0],
		"count": count(ids),
		"deployments": ids,
		"moved": concat("", [sprintf("; %s", [m]) | some m in moves]),
	}
}

# Each deployment that started with an active flag past its remove_by day. Only flags that
# have a remove_by date are looked at (the registry's "dated" index, and the flags for which
# its history recorded an earlier date than its own: "earlier_remove_by").
overdue contains late if {
	some deployment in input.deployments
	registry := input.registries[deployment.registry]
	earlier := object.get(deployment, "earlier_remove_by", {})
	some name in {n | some n in registry.dated} | {n | some n, _ in earlier}
	still_in_use(registry, name)
	deadline := object.get(earlier, name, object.get(registry.flags, name, {}))
	deployment.started_at_ns >= deadline.remove_by_end_ns
	late := {
		"flag": name,
		"deployment": deployment.id,
		"remove_by": deadline.remove_by,
		"moved": moved_text(name, deadline),
	}
}

# An active flag; or one the registry no longer lists, which "earlier_remove_by" holds only
# while the deployed code still references it and no version retired it.
still_in_use(registry, name) if registry.flags[name].status == "active"

still_in_use(registry, name) if not registry.flags[name]

moved_text(_, deadline) := "" if not deadline.short

moved_text(name, deadline) := sprintf(
	"the registry gave %s at %s and %s: the earliest date recorded applies",
	[deadline.remove_by, deadline.short, moved_since(name, deadline)],
) if deadline.short

# Who moved it is known where a version in the deployed commit's history, descending from the
# one that gave the date, gave another. A date the flag had under its old name was moved by
# the version that renamed it.
moved_since(name, deadline) := sprintf(
	"renamed %s to %s at %s",
	[deadline.renamed_from, name, deadline.moved_short],
) if {
	deadline.renamed_from
} else := sprintf("later %s", [new_date(deadline)]) if {
	deadline.moved_short == null
} else := sprintf("%s at %s", [new_date(deadline), deadline.moved_short])

new_date(deadline) := sprintf("moved it to %s", [deadline.now]) if deadline.now != null

new_date(deadline) := "dropped it" if deadline.now == null

# METADATA
# title: Retired code gone from deployed commits
# description: >-
#   A path or glob listed under retired_code in the registry at the deployed commit, or in an
#   earlier version of the registry in that commit's history, must match no file of that
#   commit's tree (a directory matches everything below it), and no file of it may hold the
#   content the entry covered when a version listed it, at another path: retired code stays
#   retired when its entry is dropped from the registry, or when it is moved.
# custom:
#   id: DEAD-004
#   per_deployment: true
#   subject: "{deployment}:{path}"
#   cause: "{path}"
#   statement: Retired code {path} is still present in deployed commits
#   gate: [merge, deploy]
#   severity: high
#   controls:
#     - NIST SP 800-53 CM-7
#     - NIST SP 800-53 SA-8
#     - SEC Regulation SCI 1001(a)
#   requires: [deploys, registry, code]
#   message: >-
#     Deployment {deployment} shipped retired code {path} ({reason}) in {count}:
#     {files}{moved}{listed}.
retired_code_present contains finding if {
	some deployment in input.deployments
	some entry in deployment.retired_code
	entry.count > 0
	finding := {
		"subject": lib.pair(deployment.id, entry.path),
		"deployment": deployment.id,
		"path": entry.path,
		"reason": entry.reason,
		"files": entry.files,
		"count": files_count(entry.count),
		"moved": moved_where(entry),
		"listed": listed_where(entry),
		"location": entry.files[0],
	}
}

# Files that hold the retired code's content at a path the entry does not name: all of those
# listed, or the ones named.
moved_where(entry) := "" if count(object.get(entry, "moved", [])) == 0

moved_where(entry) := " (the content of the retired code, at another path)" if {
	count(entry.moved) > 0
	count(entry.moved) == count(entry.files)
}

moved_where(entry) := sprintf(
	" (%s: the content of the retired code, at another path)",
	[concat(", ", entry.moved)],
) if {
	count(entry.moved) > 0
	count(entry.moved) != count(entry.files)
}

# An entry of the registry at the deployed commit says nothing more; one an earlier version
# listed, and the registry at the deployed commit no longer does, names that version.
listed_where(entry) := "" if object.get(entry, "listed_in", null) == null

listed_where(entry) := sprintf(
	"; listed under retired_code at %s and since dropped from the registry",
	[entry.listed_in_short],
) if object.get(entry, "listed_in", null) != null

# METADATA
# title: Every flag the code references is in the registry
# description: >-
#   A name that is a flag elsewhere (in some version of the registry, or in the flag events)
#   must be in the registry at every deployed commit whose code references it: a flag the
#   registry does not list has no owner, purpose or status, so nothing governs it.
# custom:
#   id: DEAD-005
#   per_deployment: true
#   subject: "{deployment}:{flag}"
#   cause: "{flag}"
#   statement: Flag {flag} is referenced in deployed code but missing from the registry
#   gate: [merge, deploy]
#   severity: low
#   controls:
#     - NIST SP 800-53 CM-8
#     - NIST SP 800-53 CM-3
#   requires: [deploys, registry, code]
#   message: >-
#     Deployment {deployment} shipped code referencing flag {flag} in {files}, but the flag
#     registry at that commit does not list it.
unregistered_flag_referenced contains finding if {
	some deployment in input.deployments
	registry := input.registries[deployment.registry]
	registry.readable
	some name, reference in input.reference_sets[deployment.reference_set]
	not registry.flags[name]
	not retired_in_history[name] # DEAD-001's: a retired flag dropped from the registry
	finding := {
		"subject": lib.pair(deployment.id, name),
		"deployment": deployment.id,
		"flag": name,
		"files": object.get(reference, "shown", reference.files),
		"location": reference.files[0],
	}
}

# METADATA
# title: Every version of the flag registry is readable
# description: >-
#   Each version of the flag registry in the history the audit covers must parse and match the
#   registry format; a version that does not cannot be judged, so the audit does not pass on it.
#   Nor does one listing a retired_code entry that no commit of its history ever held a file
#   of: a misspelt path retires nothing, and the code it meant ships.
# custom:
#   id: DEAD-006
#   subject: "{commit}:{path}"
#   cause: "{path}"
#   statement: Versions of the flag registry {path} cannot be read
#   gate: [merge, deploy]
#   severity: high
#   controls:
#     - NIST SP 800-53 CM-3
#     - SOX ITGC change management
#   requires: [deploys, registry]
#   message: "The flag registry {path} at commit {short} cannot be read: {error}"
unreadable_registry contains finding if {
	some entry in input.registry_errors
	finding := {
		"subject": lib.pair(entry.commit, entry.path),
		"commit": entry.commit,
		"path": entry.path,
		"short": entry.short,
		"error": entry.error,
		"location": entry.path,
	}
}

# METADATA
# title: No retired flag switched on
# description: >-
#   A flag must not be switched on where the code running marks it retired: the commit of its
#   stream's latest deployment before the event that succeeded anywhere, of each that started
#   in the event's instant, and every commit its service's hosts were last observed running
#   at or before it, each judged by its own registry
#   (listed retired, or no longer listed where an earlier version retired it). Switching it on
#   activates code no longer meant for use, as the flag that had switched on Power Peg did on
#   the one server still running it. Where the registry of code running there cannot be read,
#   whether it retired the flag is not known, and the switch does not pass on it.
# custom:
#   id: DEAD-007
#   subject: "{flag}@{at}"
#   cause: "{flag}"
#   statement: Retired flag {flag} was switched on
#   severity: critical
#   controls:
#     - NIST SP 800-53 CM-3
#     - NIST SP 800-53 CM-7
#     - SEC Rule 15c3-5(b)
#     - SEC Regulation SCI 1001(a)
#   requires: [flag_events, registry]
#   optional: [deploys, observations]
#   message: >-
#     Flag {flag} was switched on for {service} in {environment} at {at} by {by}, though
#     {detail}.
retired_flag_enabled contains finding if {
	some event in input.flag_events
	event.enabled == true
	parts := [part | some part in [retired_part(event), unreadable_part(event)]; part != ""]
	count(parts) > 0
	finding := {
		"subject": lib.event(event.flag, event.at),
		"flag": event.flag,
		"service": event.service,
		"environment": event.environment,
		"at": event.at,
		"by": event.by,
		"detail": concat("; and ", parts),
	}
}

retired_part(event) := "" if count(event.retired_in) == 0

retired_part(event) := sprintf("the registry of the code running there marks it retired: %s", [
	concat("; ", event.retired_in),
]) if count(event.retired_in) > 0

unreadable_part(event) := "" if count(event.unreadable_in) == 0

unreadable_part(event) := sprintf("%s, %s: %s", [
	"the registry of the code running there cannot be read",
	"so whether it retired the flag is not known",
	concat("; ", event.unreadable_in),
]) if count(event.unreadable_in) > 0

# Every finding of the rules above, with its rule id and message, for `opa eval` and
# `conftest test` on exported input (knightwatch reads each rule and its METADATA itself).
deny contains result if {
	some finding in retired_flag_referenced
	result := lib.result("DEAD-001", finding)
}

deny contains result if {
	some finding in repurposed_flag
	result := lib.result("DEAD-002", finding)
}

deny contains result if {
	some finding in overdue_flag
	result := lib.result("DEAD-003", finding)
}

deny contains result if {
	some finding in retired_code_present
	result := lib.result("DEAD-004", finding)
}

deny contains result if {
	some finding in unregistered_flag_referenced
	result := lib.result("DEAD-005", finding)
}

deny contains result if {
	some finding in unreadable_registry
	result := lib.result("DEAD-006", finding)
}

deny contains result if {
	some finding in retired_flag_enabled
	result := lib.result("DEAD-007", finding)
}
