# METADATA
# title: A cost increase that takes a large share of the remaining budget needs an admin
# description: >-
#   A plan whose estimated monthly cost rises by more than the set share
#   (IDP_APPROVAL_COST_SHARE, 50 % by default) of what is left of the team's monthly budget
#   needs an approval from an admin of the team (or a platform admin). Teams without a
#   budget are not judged here; going over budget is the budget gate's.
# custom:
#   changelog: First version.
package idp.approval.cost_share

import rego.v1

require contains {"approvals": 1, "role": "admin", "msg": msg} if {
	not input.idp.destroy
	delta := input.idp.cost.delta
	is_number(delta)
	delta > 0
	remaining := input.idp.budget_remaining
	is_number(remaining)
	share := input.idp.approval_cost_share
	is_number(share)
	delta > share * max([remaining, 0])
	msg := sprintf("its cost rises by $%.2f/month, over %v%% of what is left of the %s budget ($%.2f/month)", [delta, round(share * 100), input.idp.team, max([remaining, 0])])
}
