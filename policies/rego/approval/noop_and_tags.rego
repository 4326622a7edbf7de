# METADATA
# title: No-op and tags-only plans in production are auto-approved
# description: >-
#   A plan in a production environment that changes no resource, or only the tags of
#   resources (`tags`, `tags_all`), is applied without a person's approval where the
#   environment allows auto-approval. The platform never auto-approves a plan that destroys
#   or replaces anything, is over budget, has a policy failure or warning, or was touched by
#   a service account without the approve scope.
# custom:
#   changelog: First version.
package idp.approval.noop_and_tags

import rego.v1

tag_keys := {"tags", "tags_all"}

# A data source read or a resource left as it is.
unchanged(rc) if {
	some action in rc.change.actions
	action in {"no-op", "read"}
	count(rc.change.actions) == 1
}

# An update whose only differences are tags, with nothing else unknown until apply.
tags_only(rc) if {
	rc.change.actions == ["update"]
	is_object(rc.change.before)
	is_object(rc.change.after)
	object.remove(rc.change.before, tag_keys) == object.remove(rc.change.after, tag_keys)
	not unknown_besides_tags(rc)
}

unknown_besides_tags(rc) if {
	unknown := object.get(rc.change, "after_unknown", {})
	is_object(unknown)
	walk(object.remove(unknown, tag_keys), [_, value])
	value == true
}

benign(rc) if unchanged(rc)

benign(rc) if tags_only(rc)

tagged := [rc.address | some rc in input.resource_changes; tags_only(rc)]

auto_approve contains msg if {
	input.idp.production
	not input.idp.destroy
	every rc in object.get(input, "resource_changes", []) {
		benign(rc)
	}
	count(tagged) == 0
	msg := "the plan changes no resource"
}

auto_approve contains msg if {
	input.idp.production
	not input.idp.destroy
	every rc in object.get(input, "resource_changes", []) {
		benign(rc)
	}
	count(tagged) > 0
	# concat, not sprintf: rego-cpp's sprintf quotes a computed string.
	msg := concat("", ["the plan changes only tags (", concat(", ", tagged), ")"])
}
