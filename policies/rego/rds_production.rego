# METADATA
# title: Production databases are multi-AZ, encrypted and deletion-protected
# custom:
#   enforcement: mandatory
#   environments: [prod]
package idp.rds_production

import rego.v1

required := {
	"multi_az": "multi-AZ",
	"storage_encrypted": "encrypted",
	"deletion_protection": "deletion-protected",
}

deny contains {"msg": msg, "address": rc.address} if {
	some rc in input.resource_changes
	rc.type in {"aws_db_instance", "aws_rds_cluster"}
	some action in rc.change.actions
	action in {"create", "update"}
	some attribute, label in required
	object.get(rc.change, ["after_unknown", attribute], false) != true
	object.get(rc.change.after, attribute, false) != true
	msg := sprintf("%s must be %s in production (%s = true)", [rc.address, label, attribute])
}
