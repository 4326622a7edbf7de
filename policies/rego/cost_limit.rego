# METADATA
# title: A costly resource needs a platform admin
# description: >-
#   A single resource whose estimated monthly cost passes the environment's limit is held
#   until a platform admin overrides this policy with a reason.
# custom:
#   enforcement: mandatory-overridable
package idp.cost_limit

import rego.v1

limits := {"sandbox": 50, "dev": 200, "staging": 500, "prod": 2000}

default_limit := 500

limit := object.get(limits, input.idp.environment, default_limit)

deny contains msg if {
	not input.idp.destroy
	cost := input.idp.estimated_monthly_cost
	is_number(cost)
	cost > limit
	msg := sprintf("estimated $%.2f/month is over the %s limit of $%d/month for one resource", [cost, input.idp.environment, limit])
}
