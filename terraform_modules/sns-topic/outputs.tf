output "topic_arn" {
  description = "ARN of the topic, to publish to and subscribe queues or functions."
  value       = aws_sns_topic.this.arn
}

output "topic_name" {
  description = "Name of the topic."
  value       = aws_sns_topic.this.name
}
