variable "environments" {
  description = "The environments the service is deployed to."
  type        = set(string)
  default     = ["dev", "staging", "prod"]
}

variable "aws_account_id" {
  description = "The AWS account the service runs in."
  type        = string
  default     = "123456789012"
}

variable "aws_region" {
  description = "The AWS region the service runs in."
  type        = string
  default     = "eu-west-1"
}

variable "private_subnet_ids" {
  description = "Per environment, the private subnets the database may use (no route to an internet gateway)."
  type        = map(list(string))
  default     = {}
}

variable "vpc_ids" {
  description = "Per environment, the VPC of the cluster."
  type        = map(string)
  default     = {}
}

variable "pod_security_group_ids" {
  description = "Per environment, the security group of the service's pods (security groups for pods)."
  type        = map(string)
  default     = {}
}

variable "backup_retention_days" {
  description = "Per environment, how long automated backups are kept."
  type        = map(number)
  default     = { dev = 7, staging = 7, prod = 35 }
}

variable "multi_az" {
  description = "Per environment, whether the database has a standby in a second availability zone."
  type        = map(bool)
  default     = { dev = false, staging = false, prod = true }
}

variable "access_log_bucket" {
  description = "The platform's S3 access-log bucket."
  type        = string
  default     = "platform-s3-access-logs-123456789012"
}

locals {
  service = "orders"
}
