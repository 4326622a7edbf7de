# METADATA
# title: Every taggable resource carries the platform's tags
# description: >-
#   Resources that take tags must carry idp:team, idp:environment and idp:resource, so costs,
#   alarms and ownership can be traced back to a team.
# custom:
#   enforcement: mandatory
package idp.required_tags

import rego.v1

required := {"idp:team", "idp:environment", "idp:resource"}

tag_keys(after) := object.keys(after.tags) if {
	is_object(after.tags)
} else := set()

# One pass over the changes (no intermediate set of whole changes: that grows quadratically).
deny contains {"msg": msg, "address": rc.address} if {
	some rc in input.resource_changes
	some action in rc.change.actions
	action in {"create", "update"}
	is_object(rc.change.after)
	object.get(rc.change, ["after_unknown", "tags"], false) != true
	"tags" in object.keys(rc.change.after)
	missing := required - tag_keys(rc.change.after)
	count(missing) > 0

	# concat, not sprintf("%s", [concat(...)]): rego-cpp quotes a computed string in sprintf.
	msg := concat("", [rc.address, " is missing the tags ", concat(", ", sort(missing))])
}
