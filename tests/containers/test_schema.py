"""The compiled input schema and the batcher, in-process (fast, exhaustive)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from model_containers.errors import InvalidInput
from model_containers.manifest import Signature
from model_containers.serving.batching import AdaptiveBatcher
from model_containers.serving.schema import InputSchema
from model_containers.settings import ContainerSettings


def schema(*inputs):
    return InputSchema(Signature.model_validate({"inputs": [
        {"name": n, "dtype": d, "shape": s} for n, d, s in inputs]}))


def test_columns_kinds_and_dtypes():
    s = schema(("a", "int64", [-1]), ("b", "int32", [-1]))
    assert s.kind == "columns" and s.dtype == np.int64
    np.testing.assert_array_equal(s.rows([[1, 2], [3, 4]]), [[1, 2], [3, 4]])
    with pytest.raises(InvalidInput, match="expects integers"):
        s.rows([[1.5, 2]])
    with pytest.raises(InvalidInput, match="each row must have 2 values"):
        s.rows([[1, 2, 3]])
    np.testing.assert_array_equal(s.named({"b": [[2], [4]], "a": [1, 3]}), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(s.split(["b", "a"], [[2, 1]]), [[1, 2]])
    assert schema(("a", "float32", [-1]), ("b", "int64", [-1])).dtype == np.float64


def test_tensor_and_multi_inputs():
    t = schema(("img", "float32", [-1, 2, 3]))
    assert t.kind == "tensor" and t.rows(np.zeros((4, 2, 3)).tolist()).shape == (4, 2, 3)
    with pytest.raises(InvalidInput, match=r"\[nx2x3\]"):
        t.rows(np.zeros((4, 3, 2)).tolist())
    m = schema(("ids", "int64", [-1, 3]), ("mask", "bool", [-1, 3]))
    batch = m.records([{"ids": [1, 2, 3], "mask": [True, False, True]}])
    assert batch["ids"].shape == (1, 3) and batch["mask"].dtype == np.bool_
    with pytest.raises(InvalidInput, match="send named inputs"):
        m.rows([[1, 2, 3]])
    with pytest.raises(InvalidInput, match="same number of rows"):
        m.named({"ids": [[1, 2, 3]], "mask": [[True] * 3, [False] * 3]})


def test_string_columns_and_empty_signature():
    s = schema(("text", "string", [-1]))
    assert s.rows(["a", "b"]).dtype == object
    anything = InputSchema(Signature())
    assert anything.kind == "any" and anything.rows([1, 2]).shape == (2, 1)


def test_messages_never_echo_values():
    s = schema(("a", "float64", [-1]))
    with pytest.raises(InvalidInput) as info:
        s.rows([["top-secret"]])
    assert "top-secret" not in info.value.message


def test_batcher_orders_results_and_isolates_failures():
    calls = []

    def predict(batch):
        calls.append(len(batch))
        if np.any(batch == -1):
            raise ValueError("bad row")
        return batch[:, 0] * 10

    async def main():
        loop = asyncio.get_running_loop()
        batcher = AdaptiveBatcher(predict, max_batch_size=8, max_latency_ms=50, loop=loop)
        inputs = [np.array([[float(i)]] * (i % 2 + 1)) for i in range(12)]
        inputs[5] = np.array([[-1.0]])
        return await asyncio.gather(*(batcher.submit(b) for b in inputs), return_exceptions=True), inputs

    results, inputs = asyncio.run(main())
    for i, (result, batch) in enumerate(zip(results, inputs)):
        if i == 5:
            assert isinstance(result, ValueError)
        else:
            np.testing.assert_array_equal(result, batch[:, 0] * 10)
    assert max(calls) <= 8 and max(calls) > 2  # batched, within max_batch_size


def test_settings_sagemaker_names(monkeypatch):
    monkeypatch.setenv("SAGEMAKER_BIND_TO_PORT", "9123")
    monkeypatch.setenv("SM_CHANNEL_TRAIN", "/data/train")
    monkeypatch.setenv("SM_HPS", '{"seed": "4"}')
    monkeypatch.delenv("MODELPORT_WORKERS", raising=False)
    settings = ContainerSettings()
    assert settings.port == 9123 and settings.channels == {"train": __import__("pathlib").Path("/data/train")}
    assert settings.hyperparameters == {"seed": "4"}
    assert settings.worker_count == len(__import__("os").sched_getaffinity(0))
    assert ContainerSettings().model_dir.as_posix() == "/opt/ml/model"


def test_batcher_waits_for_requests_still_arriving():
    calls = []

    def predict(batch):
        calls.append(len(batch))
        return batch[:, 0]

    async def main():
        loop = asyncio.get_running_loop()
        batcher = AdaptiveBatcher(predict, max_batch_size=64, max_latency_ms=5000, loop=loop)
        batcher.arriving = 1  # a second request's body is still being read
        first = asyncio.ensure_future(batcher.submit(np.array([[1.0]])))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not first.done() and calls == []
        batcher.arriving -= 1
        second = await batcher.submit(np.array([[2.0]]))
        return await first, second

    first, second = asyncio.run(main())
    assert (first.tolist(), second.tolist(), calls) == ([1.0], [2.0], [2])


def test_batcher_lone_request_flushes_at_once():
    async def main():
        loop = asyncio.get_running_loop()
        batcher = AdaptiveBatcher(lambda b: b[:, 0], max_batch_size=64, max_latency_ms=5000, loop=loop)
        start = loop.time()
        await batcher.submit(np.array([[3.0]]))
        return loop.time() - start

    assert asyncio.run(main()) < 1.0  # far below max_latency_ms: nothing else was arriving


def test_table_columns_are_typed_one_by_one():
    from model_containers.serving.codecs.sagemaker import decode_csv

    t = InputSchema(Signature.model_validate({"inputs": [
        {"name": "n", "dtype": "int64"}, {"name": "when", "dtype": "datetime"}, {"name": "ok", "dtype": "bool"},
        {"name": "kind", "dtype": "string"}]}), table=True)
    assert t.kind == "table"
    batch = t.rows([[3, "2024-02-29", "yes", "a"], [None, None, False, None], ["7", "2024-03-01T10:30:00", 1, 5]])
    np.testing.assert_array_equal(batch["n"], [3.0, np.nan, 7.0])
    assert batch["when"].dtype == np.dtype("datetime64[ns]") and np.isnat(batch["when"][1])
    np.testing.assert_array_equal(batch["ok"], [1.0, 0.0, 1.0])
    assert batch["kind"][0] == "a" and batch["kind"][2] == "5" and batch["kind"][1] != batch["kind"][1]  # NaN
    for bad, message in [([[1.5, None, None, None]], "input 'n' expects integers"),
                         ([[float("inf"), None, None, None]], "input 'n' must be a finite number"),
                         ([[1, "yesterday", None, None]], "input 'when' expects ISO-8601 dates"),
                         ([[1, None, "maybe", None]], "input 'ok' expects true or false"),
                         ([[1, None, None]], "each row must have 4 values")]:
        with pytest.raises(InvalidInput, match=message):
            t.rows(bad)
    numbers = InputSchema(Signature.model_validate({"inputs": [
        {"name": "a", "dtype": "int64"}, {"name": "b", "dtype": "int64"}]}), table=True)
    # an all-integer table takes missing CSV cells (the model imputes them)
    np.testing.assert_array_equal(decode_csv(b"1,\n,4\n", numbers)["a"], [1.0, np.nan])
