# Results: a finding as `opa eval` and `conftest test` show it.
#
# Each package's `deny` holds one result per finding of its rules: the rule's id, the subject,
# its severity and `msg`, the rule's METADATA message with the finding's fields filled in.
# The embedded engines do not implement rego.metadata, so the templates come from the data
# document (data.knightwatch.rules, written by knightwatch and by `knightwatch export-input`).
# Without them a result still says which rule failed for which subject.
package knightwatch.lib

import rego.v1

result(id, finding) := {
	"rule": id,
	"subject": finding.subject,
	"severity": severity(id),
	"msg": message(id, finding),
}

severity(id) := found if {
	found := data.knightwatch.rules[id].severity
} else := "unknown"

message(id, finding) := words if {
	words := filled(data.knightwatch.rules[id].message, finding)
} else := sprintf("%s failed for %s (the message is in knightwatch's data.json)", [
	id,
	finding.subject,
])

# The template with each {field} replaced by the finding's value; a list is joined with commas,
# as the report's messages are.
filled(template, finding) := strings.replace_n(
	{sprintf("{%s}", [key]): text(value) | some key, value in finding},
	template,
)

text(value) := value if is_string(value)

text(value) := concat(", ", [scalar(item) | some item in value]) if is_array(value)

text(value) := scalar(value) if {
	not is_string(value)
	not is_array(value)
}

scalar(value) := value if is_string(value)

scalar(value) := sprintf("%v", [value]) if not is_string(value)
