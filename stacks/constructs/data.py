"""Data stores: DynamoDB tables, PostgreSQL, Redis and the secrets that reach them.

The platform stack holds what services share (``PlatformData``); a service's own table or secrets
are made in its stack by the functions below it (``users_table``, ``own_secret``, ...).

AWS: Aurora Serverless v2 (PostgreSQL) and ElastiCache Serverless (Redis) in a VPC.
LocalStack community has neither, so their endpoints come from context; the
connection secret still lives in Secrets Manager so functions read it the same way.

Each PostgreSQL service has a role of its own, whose credentials (generated, in the
RDS secret format) are in a secret of its own; the master secret is for the
migrators alone, which create each role (``agora.migrate``).  On AWS each service
secret rotates itself (single-user rotation) every ``ROTATION_DAYS``.

On AWS the functions reach Aurora through an RDS Proxy that holds every service role's secret
(not the master's): a burst of Lambda concurrency opens client connections to the proxy, which
lends them a bounded pool of server connections.  The migrators and the rotation functions
connect to the cluster itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from urllib.parse import unquote, urlparse

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from agora.operations import OwnSecret
from stacks.config import DeployConfig

REDIS_PORT = 6379
POSTGRES_PORT = 5432
ROTATION_DAYS = 30
# The RDS Proxy's pool.  Aurora Serverless v2 derives max_connections from the maximum capacity (about
# 1,600 at 8 ACU).  The proxy may use half: ample for the functions, whose executions hold one
# connection each at most (agora.operations sizes the reserved concurrency from it), while the other
# half stays for what connects directly (the migrators, the rotation functions, an operator's psql)
# and for the server's own reserved slots.
PROXY_MAX_CONNECTIONS_PERCENT = 50
# Idle server connections the proxy keeps open after a burst: a fifth of its pool (about 160).  More
# would hold the cluster's memory, and so its capacity, up after the load has gone.
PROXY_MAX_IDLE_CONNECTIONS_PERCENT = 10
# How long a transaction waits for a server connection when the pool is all lent out (default 120 s).
# Shorter than any PostgreSQL function's timeout (10 s for an operation) less the 5 s statement
# timeout: a request that cannot get a connection fails with a database error (503
# DEPENDENCY_UNAVAILABLE) while the function still has time to answer, instead of timing out.
PROXY_BORROW_TIMEOUT = cdk.Duration.seconds(3)
# Characters a password may not hold: those the RDS secret tools and connection strings trip over.
PASSWORD_EXCLUDES = " %+~`#$&*()|[]{}:;<>?!'/@\"\\"


class PlatformData(Construct):
    """The data plane every service shares: the token keys, the idempotency table, PostgreSQL (with a
    role and secret per service that uses it) and Redis."""

    # Where functions and the rotation functions run on AWS.
    FUNCTION_SUBNETS = ec2.SubnetType.PRIVATE_WITH_EGRESS

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        postgres_services: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        removal = cdk.RemovalPolicy.DESTROY if config.is_localstack else cdk.RemovalPolicy.RETAIN
        self.vpc: ec2.Vpc | None = None
        self.function_security_group: ec2.ISecurityGroup | None = None
        # AWS only, when a service uses PostgreSQL: where its functions connect.
        self.proxy: rds.DatabaseProxy | None = None

        # Powertools idempotency records (consumers, webhooks, Idempotency-Key requests).
        self.idempotency_table = dynamodb.Table(
            self,
            "IdempotencyTable",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute="expiration",
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        # Both hold an empty key list (and generated noise) until the users service's key manager
        # writes the first key on deploy: no key material is ever in the template.
        self.signing_keys = secretsmanager.Secret(
            self,
            "JwtSigningKeys",
            description="ES256 private keys that sign Agora access tokens (the users service alone reads it)",
            generate_secret_string=_empty_key_list(),
        )
        self.public_keys = secretsmanager.Secret(
            self,
            "JwtPublicKeys",
            description="JWKS: the public keys that verify Agora access tokens (every service reads it)",
            generate_secret_string=_empty_key_list(),
        )

        if config.is_localstack:
            assert config.database_url
            assert config.redis_url
            # The master: read by the migrators alone.
            self.database_secret: secretsmanager.ISecret = _dev_database_secret(self, config.database_url)
            self.redis_url = config.redis_url
            self.service_database_secrets = {
                name: _dev_service_secret(self, name, config.database_url) for name in postgres_services
            }
        else:
            cluster = self._provision_aws(removal)
            self.service_database_secrets = {
                name: self._aws_service_secret(name, cluster) for name in postgres_services
            }
            if self.service_database_secrets:
                self.proxy = self._proxy(cluster)

    def _aws_service_secret(self, service: str, cluster: rds.DatabaseCluster) -> secretsmanager.ISecret:
        """The service role's credentials, with the cluster's host and port, rotated by the role itself."""
        secret = rds.DatabaseSecret(
            self,
            f"{service.title()}DatabaseSecret",
            username=database_name(service),
            dbname=database_name(service),
            exclude_characters=PASSWORD_EXCLUDES,
        )
        attached = secret.attach(cluster)
        assert self.vpc is not None and self.function_security_group is not None
        attached.add_rotation_schedule(
            "Rotation",
            automatically_after=cdk.Duration.days(ROTATION_DAYS),
            hosted_rotation=secretsmanager.HostedRotation.postgre_sql_single_user(
                function_name=f"{cdk.Stack.of(self).stack_name}-{service}-db-rotation"[:64],
                vpc=self.vpc,
                vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
                # The functions' group is the one the database lets in.
                security_groups=[self.function_security_group],
            ),
        )
        return attached

    def _proxy(self, cluster: rds.DatabaseCluster) -> rds.DatabaseProxy:
        """The RDS Proxy the functions connect through, with each service role's credentials.

        Clients sign in with their secret's password (no IAM authentication) over TLS, which the
        proxy requires; its certificate chains to the Amazon Root CAs the dependency layer carries
        beside the RDS bundle (``stacks.packaging``), so ``sslmode=verify-full`` holds.
        """
        assert self.vpc is not None and self.function_security_group is not None
        proxy_sg = ec2.SecurityGroup(self, "ProxySg", vpc=self.vpc, description="Agora RDS Proxy")
        proxy_sg.add_ingress_rule(
            self.function_security_group, ec2.Port.tcp(POSTGRES_PORT), "functions to the proxy"
        )
        # ProxyTarget.from_cluster lets this group into the cluster's, on the cluster's port.
        return rds.DatabaseProxy(
            self,
            "PostgresProxy",
            proxy_target=rds.ProxyTarget.from_cluster(cluster),
            db_proxy_name=f"{cdk.Stack.of(self).stack_name.lower()}-postgres",
            secrets=list(self.service_database_secrets.values()),
            vpc=self.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=self.FUNCTION_SUBNETS),
            security_groups=[proxy_sg],
            require_tls=True,
            iam_auth=False,
            client_password_auth_type=rds.ClientPasswordAuthType.POSTGRES_SCRAM_SHA_256,
            max_connections_percent=PROXY_MAX_CONNECTIONS_PERCENT,
            max_idle_connections_percent=PROXY_MAX_IDLE_CONNECTIONS_PERCENT,
            borrow_timeout=PROXY_BORROW_TIMEOUT,
        )

    def _provision_aws(self, removal: cdk.RemovalPolicy) -> rds.DatabaseCluster:
        vpc = ec2.Vpc(self, "Vpc", max_azs=2, nat_gateways=1)
        functions_sg = ec2.SecurityGroup(self, "FunctionsSg", vpc=vpc, description="Agora functions")
        database_sg = ec2.SecurityGroup(self, "DatabaseSg", vpc=vpc, description="Agora PostgreSQL")
        cache_sg = ec2.SecurityGroup(self, "CacheSg", vpc=vpc, description="Agora Redis")
        # The migrators and the rotation functions (in the functions' group) connect directly.
        database_sg.add_ingress_rule(functions_sg, ec2.Port.tcp(POSTGRES_PORT), "functions to PostgreSQL")
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
        return cluster


def users_table(scope: Construct, config: DeployConfig) -> dynamodb.Table:
    """The users service's table: accounts, sessions and its outbox (see functions/users)."""
    table = dynamodb.Table(
        scope,
        "UsersTable",
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        time_to_live_attribute="expires",
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=not config.is_localstack
        ),
        removal_policy=cdk.RemovalPolicy.DESTROY if config.is_localstack else cdk.RemovalPolicy.RETAIN,
    )
    # Admin listing (USERS, newest first) and pending outbox events (OUTBOX).
    table.add_global_secondary_index(
        index_name="gsi1",
        partition_key=dynamodb.Attribute(name="gsi1pk", type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name="gsi1sk", type=dynamodb.AttributeType.STRING),
    )
    return table


def own_secret(scope: Construct, secret: OwnSecret) -> secretsmanager.Secret:
    """A secret a service declares (``agora.operations.OwnSecret``), generated at deploy time."""
    return secretsmanager.Secret(
        scope,
        secret.id,
        description=secret.description,
        generate_secret_string=secretsmanager.SecretStringGenerator(
            password_length=secret.length, exclude_punctuation=True
        ),
    )


def database_name(service: str) -> str:
    """The service's database, and the name of the role that owns it."""
    return f"agora_{service}"


def _dev_service_secret(scope: Construct, service: str, url: str) -> secretsmanager.ISecret:
    """The service role on the dev server: its generated password is set by the migrator."""
    parsed = urlparse(url)
    fields = {
        "engine": "postgres",
        "host": parsed.hostname or "127.0.0.1",
        "port": str(parsed.port or 5432),
        "username": database_name(service),
        "dbname": database_name(service),
        "sslmode": "prefer",
    }
    return secretsmanager.Secret(
        scope,
        f"{service.title()}DatabaseSecret",
        description=f"The {service} service's own role on the development PostgreSQL server",
        generate_secret_string=secretsmanager.SecretStringGenerator(
            secret_string_template=json.dumps(fields),
            generate_string_key="password",
            exclude_characters=PASSWORD_EXCLUDES,
            password_length=32,
        ),
    )


def _empty_key_list() -> secretsmanager.SecretStringGenerator:
    return secretsmanager.SecretStringGenerator(
        secret_string_template='{"keys": []}', generate_string_key="placeholder", exclude_punctuation=True
    )


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
