# Aurora PostgreSQL: the same defaults as database.tf for a cluster and its instances.
resource "aws_rds_cluster_parameter_group" "aurora" {
  for_each = var.environments

  name   = "${local.service}-${each.key}-aurora"
  family = "aurora-postgresql16"

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

resource "aws_rds_cluster" "aurora" {
  for_each = var.environments

  cluster_identifier = "${local.service}-${each.key}-aurora"
  engine             = "aurora-postgresql"
  engine_version     = "16.4"
  database_name      = "orders"
  port               = 5432

  storage_encrypted = true
  kms_key_id        = aws_kms_key.database[each.key].arn

  master_username                     = "orders_admin"
  manage_master_user_password         = true
  master_user_secret_kms_key_id       = aws_kms_key.database[each.key].arn
  iam_database_authentication_enabled = true

  db_subnet_group_name   = aws_db_subnet_group.database[each.key].name
  vpc_security_group_ids = [aws_security_group.database[each.key].id]

  db_cluster_parameter_group_name = aws_rds_cluster_parameter_group.aurora[each.key].name

  backup_retention_period = var.backup_retention_days[each.key]
  preferred_backup_window = "02:00-03:00"
  copy_tags_to_snapshot   = true
  deletion_protection     = true
  skip_final_snapshot     = false

  final_snapshot_identifier       = "${local.service}-${each.key}-aurora-final"
  enabled_cloudwatch_logs_exports = ["postgresql"]
}

resource "aws_rds_cluster_instance" "aurora" {
  for_each = var.environments

  identifier           = "${local.service}-${each.key}-aurora-1"
  cluster_identifier   = aws_rds_cluster.aurora[each.key].id
  engine               = aws_rds_cluster.aurora[each.key].engine
  instance_class       = "db.t4g.medium"
  db_subnet_group_name = aws_db_subnet_group.database[each.key].name
  publicly_accessible  = false

  auto_minor_version_upgrade            = true
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.database[each.key].arn
  performance_insights_retention_period = 7
  monitoring_interval                   = 30
  monitoring_role_arn                   = aws_iam_role.database_monitoring.arn
}
