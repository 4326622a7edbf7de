# METADATA
# title: Opening a security group or IAM to everyone needs a platform admin
# description: >-
#   A plan that widens a security group to 0.0.0.0/0 or ::/0 (on any port), or adds an IAM
#   or resource policy statement that allows any principal ("*") or any action ("*"), needs
#   a platform admin's approval. Only what the plan adds counts: what was open before is
#   the mandatory policies' business.
# custom:
#   changelog: First version.
package idp.approval.open_to_internet

import rego.v1

open_cidrs := {"0.0.0.0/0", "::/0"}

as_list(value) := value if is_array(value)

else := [value] if is_string(value)

else := []

# --- security groups -----------------------------------------------------------------------

cidrs_of(block) := {c |
	some c in array.concat(
		array.concat(as_list(object.get(block, "cidr_blocks", [])), as_list(object.get(block, "ipv6_cidr_blocks", []))),
		[object.get(block, "cidr_ipv4", ""), object.get(block, "cidr_ipv6", "")],
	)
}

open_ingress(state, type) := inline_open(state, type) | rule_open(state, type)

# Inline ingress blocks of aws_security_group.
inline_open(state, type) := {sprintf("%v-%v", [object.get(b, "from_port", 0), object.get(b, "to_port", 65535)]) |
	type == "aws_security_group"
	is_object(state)
	some b in object.get(state, "ingress", [])
	count(cidrs_of(b) & open_cidrs) > 0
}

# Standalone rules.
rule_open(state, type) := {sprintf("%v-%v", [object.get(state, "from_port", 0), object.get(state, "to_port", 65535)]) |
	type in {"aws_vpc_security_group_ingress_rule", "aws_security_group_rule"}
	is_object(state)
	object.get(state, "type", "ingress") == "ingress"
	count(cidrs_of(state) & open_cidrs) > 0
}

require contains {"approvals": 1, "role": "platform_admin", "msg": msg, "address": rc.address} if {
	some rc in input.resource_changes
	some action in rc.change.actions
	action in {"create", "update"}
	added := open_ingress(rc.change.after, rc.type) - open_ingress(rc.change.before, rc.type)
	count(added) > 0
	# concat, not sprintf: rego-cpp's sprintf quotes a computed string.
	msg := concat("", [rc.address, " opens ports ", concat(", ", sort(added)), " to the internet (0.0.0.0/0)"])
}

# --- IAM and resource policies -------------------------------------------------------------

policy_attributes := {
	"aws_iam_policy": "policy",
	"aws_iam_role_policy": "policy",
	"aws_iam_user_policy": "policy",
	"aws_iam_group_policy": "policy",
	"aws_iam_role": "assume_role_policy",
	"aws_s3_bucket_policy": "policy",
	"aws_sqs_queue_policy": "policy",
	"aws_sns_topic_policy": "policy",
	"aws_ecr_repository_policy": "policy",
	"aws_kms_key": "policy",
}

statements(doc) := doc.Statement if is_array(doc.Statement)

else := [doc.Statement] if is_object(doc.Statement)

else := []

any_principal(s) if object.get(s, "Principal", "") == "*"

any_principal(s) if {
	principal := object.get(s, "Principal", {})
	is_object(principal)
	some _, value in principal
	"*" in as_list(value)
}

any_action(s) if "*" in as_list(object.get(s, "Action", []))

wide(s) if any_principal(s)

wide(s) if any_action(s)

wide_statements(state, attribute) := {json.marshal(s) |
	is_object(state)
	text := object.get(state, attribute, "")
	is_string(text)
	text != ""
	doc := json.unmarshal(text)
	some s in statements(doc)
	object.get(s, "Effect", "Allow") == "Allow"
	wide(s)
}

require contains {"approvals": 1, "role": "platform_admin", "msg": msg, "address": rc.address} if {
	some rc in input.resource_changes
	attribute := policy_attributes[rc.type]
	some action in rc.change.actions
	action in {"create", "update"}
	added := wide_statements(rc.change.after, attribute) - wide_statements(rc.change.before, attribute)
	count(added) > 0
	msg := sprintf("%s allows any principal or any action (\"*\")", [rc.address])
}
