"""Data stores: DynamoDB tables, PostgreSQL, Redis and the secrets that reach them.

AWS: Aurora Serverless v2 (PostgreSQL) and ElastiCache Serverless (Redis) in a VPC.
LocalStack community has neither, so their endpoints come from context; the
connection secret still lives in Secrets Manager so functions read it the same way.
"""

from __future__ import annotations

from urllib.parse import unquote, urlparse

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from stacks.config import DeployConfig

REDIS_PORT = 6379


class DataStores(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: DeployConfig) -> None:
        super().__init__(scope, construct_id)
        removal = cdk.RemovalPolicy.DESTROY if config.is_localstack else cdk.RemovalPolicy.RETAIN
        self.vpc: ec2.IVpc | None = None
        self.function_security_group: ec2.ISecurityGroup | None = None

        self.users_table = dynamodb.Table(
            self,
            "UsersTable",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute="expires",
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=not config.is_localstack
            ),
            removal_policy=removal,
        )
        # Admin listing (USERS, newest first) and pending outbox events (OUTBOX), see functions/users.
        self.users_table.add_global_secondary_index(
            index_name="gsi1",
            partition_key=dynamodb.Attribute(name="gsi1pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="gsi1sk", type=dynamodb.AttributeType.STRING),
        )
        # Powertools idempotency records (consumers, webhooks, Idempotency-Key requests).
        self.idempotency_table = dynamodb.Table(
            self,
            "IdempotencyTable",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute="expiration",
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.jwt_secret = secretsmanager.Secret(
            self,
            "JwtSigningKey",
            description="HMAC key that signs Agora access tokens",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
        )

        self.webhook_secret = secretsmanager.Secret(
            self,
            "WebhookSigningSecret",
            description="HMAC secret that signs payment provider webhooks (set it to the provider's)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=48, exclude_punctuation=True
            ),
        )

        if config.is_localstack:
            assert config.database_url
            assert config.redis_url
            self.database_secret: secretsmanager.ISecret = _dev_database_secret(self, config.database_url)
            self.redis_url = config.redis_url
        else:
            self._provision_aws(removal)

    def _provision_aws(self, removal: cdk.RemovalPolicy) -> None:
        vpc = ec2.Vpc(self, "Vpc", max_azs=2, nat_gateways=1)
        functions_sg = ec2.SecurityGroup(self, "FunctionsSg", vpc=vpc, description="Agora functions")
        database_sg = ec2.SecurityGroup(self, "DatabaseSg", vpc=vpc, description="Agora PostgreSQL")
        cache_sg = ec2.SecurityGroup(self, "CacheSg", vpc=vpc, description="Agora Redis")
        database_sg.add_ingress_rule(functions_sg, ec2.Port.tcp(5432), "functions to PostgreSQL")
        cache_sg.add_ingress_rule(functions_sg, ec2.Port.tcp(REDIS_PORT), "functions to Redis")

        cluster = rds.DatabaseCluster(
            self,
            "Postgres",
            engine=rds.DatabaseClusterEngine.aurora_postgres(
                version=rds.AuroraPostgresEngineVersion.VER_17_5
            ),
            credentials=rds.Credentials.from_generated_secret("agora"),
            writer=rds.ClusterInstance.serverless_v2("writer"),
            serverless_v2_min_capacity=0.5,
            serverless_v2_max_capacity=8,
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_groups=[database_sg],
            storage_encrypted=True,
            removal_policy=removal,
        )
        assert cluster.secret is not None
        self.database_secret = cluster.secret

        private = vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        redis = elasticache.CfnServerlessCache(
            self,
            "Redis",
            engine="redis",
            serverless_cache_name=f"{cdk.Stack.of(self).stack_name.lower()}-cache",
            security_group_ids=[cache_sg.security_group_id],
            subnet_ids=private.subnet_ids,
        )
        self.redis_url = f"rediss://{redis.attr_endpoint_address}:{redis.attr_endpoint_port}/0"
        self.vpc = vpc
        self.function_security_group = functions_sg


def _dev_database_secret(scope: Construct, url: str) -> secretsmanager.ISecret:
    """The dev server's connection details in the RDS secret format (the dev server has no password)."""
    parsed = urlparse(url)
    fields = {
        "engine": "postgres",
        "host": parsed.hostname or "127.0.0.1",
        "port": str(parsed.port or 5432),
        "username": unquote(parsed.username or "postgres"),
        "password": unquote(parsed.password or ""),
        "sslmode": "disable",
    }
    return secretsmanager.Secret(
        scope,
        "DatabaseSecret",
        description="Connection to the development PostgreSQL server",
        secret_object_value={k: cdk.SecretValue.unsafe_plain_text(v) for k, v in fields.items()},
    )
