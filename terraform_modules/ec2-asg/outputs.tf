output "autoscaling_group_name" {
  description = "Name of the Auto Scaling group."
  value       = aws_autoscaling_group.this.name
}

output "autoscaling_group_arn" {
  description = "ARN of the Auto Scaling group."
  value       = aws_autoscaling_group.this.arn
}

output "launch_template_id" {
  description = "Id of the launch template (a new version starts an instance refresh)."
  value       = aws_launch_template.this.id
}

output "security_group_id" {
  description = "Security group of the instances (allow it into your databases and caches)."
  value       = aws_security_group.this.id
}

output "role_arn" {
  description = "ARN of the instances' role (attach the policies your application needs)."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the instances' role."
  value       = aws_iam_role.this.name
}
