# METADATA
# title: Replacing or destroying stateful resources in production needs two approvals, one an admin
# description: >-
#   A plan in a production environment that replaces or destroys a database, bucket, table,
#   cluster, queue, stream or volume needs two approvals, one of them from an admin of the
#   owning team (or a platform admin). The reason names the address and how many resources
#   take a value from this one.
# custom:
#   changelog: First version.
package idp.approval.stateful_changes

import rego.v1

stateful_types := {
	"aws_db_instance",
	"aws_rds_cluster",
	"aws_rds_cluster_instance",
	"aws_docdb_cluster",
	"aws_neptune_cluster",
	"aws_redshift_cluster",
	"aws_dynamodb_table",
	"aws_s3_bucket",
	"aws_sqs_queue",
	"aws_kinesis_stream",
	"aws_msk_cluster",
	"aws_elasticache_cluster",
	"aws_elasticache_replication_group",
	"aws_opensearch_domain",
	"aws_elasticsearch_domain",
	"aws_eks_cluster",
	"aws_efs_file_system",
	"aws_ebs_volume",
}

verb(actions) := "replaces" if {
	"delete" in actions
	"create" in actions
} else := "destroys"

dependants_note := note if {
	n := count(object.get(input.idp, "dependants", []))
	n > 0
	note := sprintf("; %d resource(s) depend on it", [n])
} else := ""

require contains {"approvals": 2, "role": "admin", "msg": msg, "address": rc.address} if {
	input.idp.production
	some rc in input.resource_changes
	rc.type in stateful_types
	"delete" in rc.change.actions
	msg := sprintf("%s %s (stateful) in %s%s", [verb(rc.change.actions), rc.address, input.idp.environment, dependants_note])
}
