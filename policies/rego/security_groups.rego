# METADATA
# title: No admin or database port open to the internet
# description: >-
#   Security groups never allow 0.0.0.0/0 or ::/0 in on SSH, RDP or database ports.
# custom:
#   enforcement: mandatory
package idp.security_groups

import rego.v1

admin_ports := {22, 3389, 3306, 5432, 1433, 27017, 6379}

open_cidrs := {"0.0.0.0/0", "::/0"}

covers(from, to) := ports if {
	ports := {port | some port in admin_ports; from <= port; port <= to}
}

# Inline ingress blocks of aws_security_group.
deny contains {"msg": msg, "address": rc.address} if {
	some rc in input.resource_changes
	rc.type == "aws_security_group"
	some action in rc.change.actions
	action in {"create", "update"}
	some block in object.get(rc.change.after, "ingress", [])
	cidrs := {c | some c in array.concat(object.get(block, "cidr_blocks", []), object.get(block, "ipv6_cidr_blocks", []))}
	count(cidrs & open_cidrs) > 0
	ports := covers(block.from_port, block.to_port)
	count(ports) > 0
	msg := sprintf("%s opens port %v to the internet", [rc.address, min(ports)])
}

# Standalone rules (aws_vpc_security_group_ingress_rule, aws_security_group_rule).
deny contains {"msg": msg, "address": rc.address} if {
	some rc in input.resource_changes
	rc.type in {"aws_vpc_security_group_ingress_rule", "aws_security_group_rule"}
	some action in rc.change.actions
	action in {"create", "update"}
	after := rc.change.after
	object.get(after, "type", "ingress") == "ingress"
	# Ports known only after apply are not judged (a static check of a module's HCL).
	not object.get(rc.change, ["after_unknown", "from_port"], false)
	not object.get(rc.change, ["after_unknown", "to_port"], false)
	cidrs := {c | some c in array.concat(
		[object.get(after, "cidr_ipv4", ""), object.get(after, "cidr_ipv6", "")],
		array.concat(object.get(after, "cidr_blocks", []), object.get(after, "ipv6_cidr_blocks", [])),
	)}
	count(cidrs & open_cidrs) > 0
	ports := covers(object.get(after, "from_port", 0), object.get(after, "to_port", 65535))
	count(ports) > 0
	msg := sprintf("%s opens port %v to the internet", [rc.address, min(ports)])
}
