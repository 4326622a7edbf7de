output "queue_name" {
  description = "Name of the queue (the QueueName dimension of its CloudWatch metrics)."
  value       = terraform_data.queue.output.name
}

output "visibility_timeout" {
  description = "Seconds a received message stays hidden."
  value       = terraform_data.queue.output.visibility_timeout
}

output "retention_seconds" {
  description = "Seconds a message is kept."
  value       = terraform_data.queue.output.retention_seconds
}
