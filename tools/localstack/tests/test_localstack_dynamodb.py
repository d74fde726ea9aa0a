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


def test_stream_records_reach_lambda_through_an_event_source_mapping(localstack, make_function, wait_for):
    client, lambda_client, logs = (localstack.client(s) for s in ("dynamodb", "lambda", "logs"))
    name = f"stream-{uuid.uuid4().hex[:6]}"
    stream_arn = client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    source = "def handler(event, context):\n    print('stream', [r['eventName'] for r in event['Records']])\n"
    function = make_function({"app.py": source})
    lambda_client.create_event_source_mapping(
        FunctionName=function, EventSourceArn=stream_arn, StartingPosition="TRIM_HORIZON", BatchSize=10
    )
    client.put_item(TableName=name, Item={"pk": {"S": "a"}})

    def seen():
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}")["events"]
        except logs.exceptions.ResourceNotFoundException:
            return []
        return [e["message"] for e in events if e["message"].startswith("stream")]

    assert wait_for(seen, timeout=20) == ["stream ['INSERT']\n"]


def test_parallel_conditional_transactions_on_one_key_let_exactly_one_through(table):
    from concurrent.futures import ThreadPoolExecutor

    client, name = table
    order_id = f"race-{uuid.uuid4().hex[:6]}"

    def attempt(_: int) -> str:
        try:
            place_order(client, name, order_id)
        except ClientError as exc:
            return exc.response["Error"]["Code"]
        return "committed"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(attempt, range(40)))
    assert outcomes.count("committed") == 1
    assert outcomes.count("TransactionCanceledException") == 39
