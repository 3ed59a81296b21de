# PostgreSQL on RDS: a customer-managed KMS key, private subnets, a security group that admits only
# the service's pods, TLS required, IAM authentication, the master password in Secrets Manager,
# backups, and in prod deletion protection and Multi-AZ.
resource "aws_kms_key" "database" {
  for_each = var.environments

  description             = "${local.service}-${each.key} database: storage, snapshots, Performance Insights, master secret"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AccountAdministersTheKey"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::${var.aws_account_id}:root" }
      Action = [
        "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:CreateGrant", "kms:Decrypt",
        "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey", "kms:EnableKey",
        "kms:EnableKeyRotation", "kms:Encrypt", "kms:GenerateDataKey", "kms:GetKeyPolicy",
        "kms:GetKeyRotationStatus", "kms:ListAliases", "kms:ListGrants", "kms:ListResourceTags",
        "kms:PutKeyPolicy", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:RevokeGrant",
        "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:UpdateKeyDescription",
      ]
      Resource = "*"
    }]
  })
}

resource "aws_db_subnet_group" "database" {
  for_each = var.environments

  name       = "${local.service}-${each.key}"
  subnet_ids = var.private_subnet_ids[each.key]
}

resource "aws_security_group" "database" {
  for_each = var.environments

  name        = "${local.service}-${each.key}-db"
  description = "PostgreSQL from the pods of ${local.service} only"
  vpc_id      = var.vpc_ids[each.key]
}

resource "aws_vpc_security_group_ingress_rule" "database_from_pods" {
  for_each = var.environments

  description                  = "PostgreSQL from the pods of ${local.service}"
  security_group_id            = aws_security_group.database[each.key].id
  referenced_security_group_id = var.pod_security_group_ids[each.key]
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

resource "aws_db_parameter_group" "database" {
  for_each = var.environments

  name   = "${local.service}-${each.key}"
  family = "postgres16"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "log_statement"
    value = "ddl"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }
}

resource "aws_iam_role" "database_monitoring" {
  name = "${local.service}-rds-monitoring"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "monitoring.rds.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_db_instance" "database" {
  for_each = var.environments

  identifier     = "${local.service}-${each.key}"
  engine         = "postgres"
  engine_version = "16.4"
  instance_class = "db.t4g.medium"
  db_name        = "orders"
  port           = 5432

  allocated_storage     = 20
  max_allocated_storage = 100
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.database[each.key].arn

  username                            = "orders_admin"
  manage_master_user_password         = true
  master_user_secret_kms_key_id       = aws_kms_key.database[each.key].arn
  iam_database_authentication_enabled = true

  db_subnet_group_name   = aws_db_subnet_group.database[each.key].name
  vpc_security_group_ids = [aws_security_group.database[each.key].id]
  publicly_accessible    = false
  parameter_group_name   = aws_db_parameter_group.database[each.key].name

  multi_az                = var.multi_az[each.key]
  backup_retention_period = var.backup_retention_days[each.key]
  backup_window           = "02:00-03:00"
  copy_tags_to_snapshot   = true
  deletion_protection     = true
  skip_final_snapshot     = false

  final_snapshot_identifier = "${local.service}-${each.key}-final"

  auto_minor_version_upgrade            = true
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.database[each.key].arn
  performance_insights_retention_period = 7
  monitoring_interval                   = 30
  monitoring_role_arn                   = aws_iam_role.database_monitoring.arn
  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]
}

# The service's access: log in as its own database user, read the connection secret. Nothing else.
data "aws_iam_policy_document" "database_access" {
  for_each = var.environments

  statement {
    sid       = "ConnectAsTheServiceUser"
    effect    = "Allow"
    actions   = ["rds-db:connect"]
    resources = ["arn:aws:rds-db:${var.aws_region}:${var.aws_account_id}:dbuser:${aws_db_instance.database[each.key].resource_id}/orders_app"]
  }
}
