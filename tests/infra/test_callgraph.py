"""The call-graph analysis behind the IAM check, on small packages written for each case."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.infra.callgraph import AnalysisError, analyse, third_party_calls
from tests.infra.iam_map import iam_actions
from tests.infra.source import Source

WIRING = '''
def client(service):
    return make_client(service)  # the factory: the only client with a service that is not a literal
'''
STORE = '''
class Store:
    def __init__(self, client, table):
        self._db = client
        self._table = table

    def get(self, key):
        return self._db.get_item(TableName=self._table, Key=key)

    def head(self, key):
        return self._db.describe_table(TableName=self._table)

    def commit(self, items):
        self._db.transact_write_items(TransactItems=[{"Put": items}])

    def everything(self):
        return self._db.get_paginator("scan").paginate(TableName=self._table)

    def escape(self):
        return getattr(self._db, "delete_table")(TableName=self._table)
'''


def package(tmp_path: Path, **modules: str) -> Source:
    """A package `pkg` under tmp_path with `adapters/wiring.py`, `adapters/store.py` and `modules`."""
    files = {"adapters/wiring": WIRING, "adapters/store": STORE, **{k.replace(".", "/"): v for k, v in modules.items()}}
    for name, text in files.items():
        path = tmp_path / "pkg" / f"{name}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        for folder in [path.parent, *path.parent.parents]:
            if folder == tmp_path:
                break
            (folder / "__init__.py").touch()
        path.write_text(textwrap.dedent(text))
    return Source(tmp_path, "pkg")


def calls(source: Source, handler: str = "pkg.handler.lambda_handler") -> set[tuple[str, str]]:
    return {(c.service, c.method) for c in analyse(handler, source).calls}


def test_only_methods_that_reached_code_calls_count(tmp_path):
    source = package(tmp_path, handler='''
        from pkg.adapters.store import Store
        from pkg.adapters.wiring import client

        def lambda_handler(event, context):
            store = Store(client("dynamodb"), "t")
            chain = event.head          # only read through: not a call of Store.head
            print(chain.seq, event.commit is None)
            return store.get(event)
    ''')
    assert calls(source) == {("dynamodb", "get_item")}


def test_a_method_passed_on_or_bound_and_called_counts(tmp_path):
    source = package(tmp_path, handler='''
        from pkg.adapters.store import Store
        from pkg.adapters.wiring import client

        def lambda_handler(event, context):
            store = Store(client("dynamodb"), "t")
            run = store.head
            run(event)
            return map(store.commit, [event])
    ''')
    assert calls(source) == {("dynamodb", "describe_table"), ("dynamodb", "transact_write_items")}


def test_routes_count_when_their_router_is_used_and_lazy_imports_run(tmp_path):
    routes = '''
        from pkg.adapters.store import Store
        from pkg.adapters.wiring import client

        router = Router()

        @router.get("/x")
        def read():
            return Store(client("dynamodb"), "t").get("k")
    '''
    used = package(tmp_path / "a", routes=routes, handler='''
        def lambda_handler(event, context):
            from pkg import routes  # imported lazily, then included
            app.include_router(routes.router)
    ''')
    assert calls(used) == {("dynamodb", "get_item")}
    unused = package(tmp_path / "b", routes=routes, handler='''
        from pkg.routes import Router  # imports the module, never uses its router

        def lambda_handler(event, context):
            return Router
    ''')
    assert calls(unused) == set()


def test_type_checking_imports_and_annotations_do_not_run(tmp_path):
    source = package(tmp_path, helper='''
        from pkg.adapters.store import Store
        from pkg.adapters.wiring import client
        STORE = Store(client("dynamodb"), "t")
        STORE.get("k")
    ''', handler='''
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from pkg import helper

        def lambda_handler(event: "helper.Thing", context) -> "helper.Other":
            return None
    ''')
    assert calls(source) == set()


def test_paginators_and_presigned_urls_count_as_their_operation(tmp_path):
    source = package(tmp_path, handler='''
        from pkg.adapters.store import Store
        from pkg.adapters.wiring import client

        def lambda_handler(event, context):
            Store(client("dynamodb"), "t").everything()
            return client("s3").generate_presigned_url("put_object", Params={"Bucket": "b", "Key": "k"})
    ''')
    assert calls(source) == {("dynamodb", "scan"), ("s3", "put_object")}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('c = client("s3")\n    return c.head_object(Bucket="b", Key="k")', "neither called nor passed"),
        ("return client(event).head_object()", "not a literal"),
        ('return Store(event, "t").get("k")', "not client"),
        ('return client("s4").head_object()', "not a boto3 service"),
        ('return client("s3").heads_object()', "no method 'heads_object'"),
        ('return helper(client("s3"))', "cannot read"),
        ('return boto3.client("s3").head_object()', "wiring.client"),
        ('return Store(client("dynamodb"), "t").escape()', "holds a client; call its methods directly"),
    ],
)
def test_what_the_analysis_cannot_follow_is_an_error(tmp_path, body, message):
    source = package(tmp_path, handler=f'''
import boto3
from pkg.adapters.store import Store
from pkg.adapters.wiring import client

def helper(anything):
    return anything

def lambda_handler(event, context):
    {body}
''')
    with pytest.raises(AnalysisError, match=message):
        analyse("pkg.handler.lambda_handler", source)


def test_third_party_calls_are_read_from_the_installed_source():
    layer = "aws_lambda_powertools.utilities.idempotency.persistence.dynamodb.DynamoDBPersistenceLayer"
    assert third_party_calls(layer) == ("delete_item", "get_item", "put_item", "update_item")


@pytest.mark.parametrize(
    ("service", "method", "names", "expected"),
    [
        ("cloudwatch", "put_metric_alarm", (), {"cloudwatch:PutMetricAlarm"}),  # signing name `monitoring`
        ("apigateway", "flush_stage_authorizers_cache", (), {"apigateway:DELETE"}),
        ("stepfunctions", "start_execution", (), {"states:StartExecution"}),
        ("s3", "copy_object", (), {"s3:GetObject", "s3:PutObject", "kms:GenerateDataKey", "kms:Decrypt"}),
        ("s3", "head_object", (), {"s3:GetObject"}),
        ("s3", "head_object", ("ChecksumMode", "VersionId"), {"s3:GetObject", "s3:GetObjectVersion", "kms:Decrypt"}),
        ("s3", "put_object", (), {"s3:PutObject", "kms:GenerateDataKey"}),  # a presigned PUT too
        ("dynamodb", "query", (), {"dynamodb:Query", "kms:Decrypt"}),
        ("dynamodb", "transact_write_items", ("Put", "Update"),
         {"dynamodb:PutItem", "dynamodb:UpdateItem", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"}),
        ("application-autoscaling", "delete_scaling_policy", (),
         {"application-autoscaling:DeleteScalingPolicy", "cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms",
          "cloudwatch:DeleteAlarms"}),
    ],
)  # fmt: skip
def test_calls_map_to_iam_actions(service, method, names, expected):
    from tests.infra.callgraph import ApiCall

    assert iam_actions(ApiCall(service, method, "here", frozenset(names))) == expected
