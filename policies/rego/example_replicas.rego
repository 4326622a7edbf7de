# METADATA
# title: example-config runs at most 5 replicas in prod
# description: The demo's own rule, so the whole policy path can be tried without AWS.
# custom:
#   enforcement: mandatory
#   environments: [prod]
#   templates: [example-config]
package idp.example_replicas

import rego.v1

max_replicas := 5

deny contains {"msg": msg, "address": rc.address} if {
	some rc in input.resource_changes
	rc.type == "terraform_data"
	some action in rc.change.actions
	action in {"create", "update"}
	replicas := object.get(rc.change.after, ["input", "replicas"], 0)
	is_number(replicas)
	replicas > max_replicas
	msg := sprintf("%s asks for %d replicas; prod allows at most %d", [rc.address, replicas, max_replicas])
}
