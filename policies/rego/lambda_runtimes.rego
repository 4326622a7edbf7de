# METADATA
# title: Lambda functions use a supported runtime
# description: Runtimes AWS has deprecated get no security patches; pick a current one.
# custom:
#   enforcement: mandatory
package idp.lambda_runtimes

import rego.v1

deprecated := {
	"python2.7", "python3.6", "python3.7", "python3.8", "python3.9",
	"nodejs", "nodejs4.3", "nodejs6.10", "nodejs8.10", "nodejs10.x", "nodejs12.x",
	"nodejs14.x", "nodejs16.x", "nodejs18.x",
	"java8", "dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1", "dotnet6",
	"ruby2.5", "ruby2.7", "go1.x", "provided",
}

deny contains {"msg": msg, "address": rc.address} if {
	some rc in input.resource_changes
	rc.type == "aws_lambda_function"
	some action in rc.change.actions
	action in {"create", "update"}
	runtime := object.get(rc.change.after, "runtime", "")
	runtime in deprecated
	msg := sprintf("%s uses the deprecated runtime %s", [rc.address, runtime])
}
