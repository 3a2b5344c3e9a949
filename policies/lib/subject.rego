# Subjects: what a finding is about, as the rule's METADATA `subject` declares its shape.
# Waivers match these strings with globs, so every rule builds them here, from their parts.
package knightwatch.lib

import rego.v1

# A subject of two parts, "{deployment}:{host}", "{deployment}:{flag}", "{commit}:{path}" or a
# waiver's "{rule}:{subject}".
pair(first, second) := concat(":", [first, second])

# A flag event's subject, "{flag}@{at}": the flag and the event's time as it was given.
event(flag, at) := concat("@", [flag, at])
