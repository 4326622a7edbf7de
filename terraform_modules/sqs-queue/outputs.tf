output "queue_url" {
  description = "URL of the queue, for sending and receiving."
  value       = aws_sqs_queue.this.id
}

output "queue_arn" {
  description = "ARN of the queue, for IAM policies and event sources."
  value       = aws_sqs_queue.this.arn
}

output "dlq_url" {
  description = "URL of the dead-letter queue."
  value       = aws_sqs_queue.dlq.id
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}
