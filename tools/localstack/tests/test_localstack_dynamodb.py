"""DynamoDB through the moto-backed provider: no JVM, no download."""

import uuid

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.localstack


@pytest.fixture(scope="module")
def table(localstack):
    client = localstack.client("dynamodb")
    name = f"orders-{uuid.uuid4().hex[:6]}"
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "customer")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-customer",
                "KeySchema": [{"AttributeName": "customer", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    assert client.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"
    return client, name


def place_order(client, table_name: str, order_id: str) -> None:
    client.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": table_name,
                    "Item": {"pk": {"S": f"order#{order_id}"}, "sk": {"S": "meta"}, "customer": {"S": "c1"}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Update": {
                    "TableName": table_name,
                    "Key": {"pk": {"S": "stock#sku-1"}, "sk": {"S": "level"}},
                    "UpdateExpression": "ADD reserved :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
        ]
    )


def test_transaction_with_condition_commits_once_and_cancels_atomically(table):
    client, name = table
    place_order(client, name, "o-1")
    with pytest.raises(ClientError) as cancelled:
        place_order(client, name, "o-1")
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [reason["Code"] for reason in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["ConditionalCheckFailed", "None"]
    stock = client.get_item(TableName=name, Key={"pk": {"S": "stock#sku-1"}, "sk": {"S": "level"}})["Item"]
    assert stock["reserved"] == {"N": "1"}


def test_global_secondary_index_query(table):
    client, name = table
    place_order(client, name, "o-2")
    items = client.query(
        TableName=name,
        IndexName="by-customer",
        KeyConditionExpression="customer = :c",
        ExpressionAttributeValues={":c": {"S": "c1"}},
    )["Items"]
    assert {item["pk"]["S"] for item in items} >= {"order#o-1", "order#o-2"}


def test_conditional_update_fails_with_conditional_check_failed(table):
    client, name = table
    with pytest.raises(ClientError) as failed:
        client.update_item(
            TableName=name,
            Key={"pk": {"S": "order#o-1"}, "sk": {"S": "meta"}},
            UpdateExpression="SET #s = :paid",
            ConditionExpression="#s = :pending",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":paid": {"S": "PAID"}, ":pending": {"S": "PENDING"}},
        )
    assert failed.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
