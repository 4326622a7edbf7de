# METADATA
# title: S3 buckets are encrypted and not public
# description: >-
#   A bucket comes with default encryption and a public access block that blocks everything,
#   and is never given a public ACL.
# custom:
#   enforcement: mandatory
package idp.s3_buckets

import rego.v1

created_types := {rc.type |
	some rc in input.resource_changes
	"create" in rc.change.actions
}

new_bucket contains rc.address if {
	some rc in input.resource_changes
	rc.type == "aws_s3_bucket"
	"create" in rc.change.actions
}

deny contains {"msg": msg, "address": address} if {
	some address in new_bucket
	not "aws_s3_bucket_server_side_encryption_configuration" in created_types
	msg := sprintf("%s has no default encryption (aws_s3_bucket_server_side_encryption_configuration)", [address])
}

deny contains {"msg": msg, "address": address} if {
	some address in new_bucket
	not "aws_s3_bucket_public_access_block" in created_types
	msg := sprintf("%s has no public access block", [address])
}

flags := ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"]

deny contains {"msg": msg, "address": rc.address} if {
	some rc in input.resource_changes
	rc.type == "aws_s3_bucket_public_access_block"
	some action in rc.change.actions
	action in {"create", "update"}
	some flag in flags
	object.get(rc.change.after, flag, false) != true
	object.get(rc.change, ["after_unknown", flag], false) != true
	msg := sprintf("%s leaves %s off", [rc.address, flag])
}

deny contains {"msg": msg, "address": rc.address} if {
	some rc in input.resource_changes
	rc.type in {"aws_s3_bucket", "aws_s3_bucket_acl"}
	some action in rc.change.actions
	action in {"create", "update"}
	acl := object.get(rc.change.after, "acl", "")
	acl in {"public-read", "public-read-write", "website"}
	msg := sprintf("%s has the public ACL %s", [rc.address, acl])
}
