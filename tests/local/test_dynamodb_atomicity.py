"""DynamoDB transactions through the embedded AWS are atomic and serialisable, as on AWS.

The platform's correctness rests on this: every change and its audit event are one
TransactWriteItems conditioned on the chain head it read (DESIGN §3).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import ClientError

from modelport.local.testing import client

BYSTANDERS = 500


def test_concurrent_conditional_transactions_never_half_apply(cloud, unique):
    ddb = client(cloud, "dynamodb")
    table = f"atomic-{unique}"
    ddb.create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
    )  # fmt: skip
    ddb.put_item(TableName=table, Item={"PK": {"S": "head"}, "seq": {"N": "0"}})
    # Bystander items make each transaction take long enough for requests to overlap.
    for start in range(0, BYSTANDERS, 25):
        ddb.batch_write_item(RequestItems={table: [
            {"PutRequest": {"Item": {"PK": {"S": f"other-{n}"}, "pad": {"S": "x" * 100}}}}
            for n in range(start, start + 25)
        ]})  # fmt: skip
    threads, rounds = 8, 25
    # No SDK retries: every attempt's outcome is counted exactly once.
    workers = [client(cloud, "dynamodb") for _ in range(threads)]  # one attempt each: no SDK retries

    def writer(n: int) -> int:
        """Each round: read the head, then move it and create `item-<seq>` in one transaction."""
        mine, db = 0, workers[n]
        for _ in range(rounds):
            seq = int(db.get_item(TableName=table, Key={"PK": {"S": "head"}}, ConsistentRead=True)["Item"]["seq"]["N"])
            try:
                db.transact_write_items(TransactItems=[
                    {"Put": {"TableName": table, "Item": {"PK": {"S": f"item-{seq + 1}"}, "by": {"N": str(n)}},
                             "ConditionExpression": "attribute_not_exists(PK)"}},
                    {"Update": {"TableName": table, "Key": {"PK": {"S": "head"}},
                                "UpdateExpression": "SET seq = :next", "ConditionExpression": "seq = :seen",
                                "ExpressionAttributeValues": {":next": {"N": str(seq + 1)}, ":seen": {"N": str(seq)}}}},
                ])  # fmt: skip
                mine += 1
            except ClientError as error:
                assert error.response["Error"]["Code"] == "TransactionCanceledException"
        return mine

    with ThreadPoolExecutor(threads) as pool:
        committed = sum(pool.map(writer, range(threads)))

    head = int(ddb.get_item(TableName=table, Key={"PK": {"S": "head"}}, ConsistentRead=True)["Item"]["seq"]["N"])
    items = []
    for page in ddb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        items += page["Items"]
    created = sorted(int(i["PK"]["S"].split("-")[1]) for i in items if i["PK"]["S"].startswith("item-"))
    assert len(items) == 1 + BYSTANDERS + len(created), "a write was lost"
    # Every committed transaction moved the head once and created exactly its item; no
    # cancelled one left anything behind.
    assert committed >= 1
    assert head == committed
    assert created == list(range(1, committed + 1))
