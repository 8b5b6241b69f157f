"""`python -m benchmarks.training`: the reference trainer per data set and estimator.

For each real table (Palmer penguins; scikit-learn's breast cancer, wine and diabetes)
and each estimator it prints the pipeline's fit time, the whole training run (with the
5-fold estimate), the holdout metrics, and the served pipeline's latency against the bare
estimator's ``predict`` measured side by side in the same run:

* ``pipeline``: what the serving container does per request after parsing JSON: the
  signature's column conversion (``InputSchema`` table kind), the DataFrame, and the saved
  pipeline's ``predict`` (ColumnTransformer + model), loaded from ``model.skops`` by the
  serving runtime;
* ``bare``: the fitted final estimator's ``predict`` on rows the ColumnTransformer has
  already turned into its numeric matrix (what a model without column handling costs).

Single rows and batches of 64, alternating the two in rounds so load falls on both alike;
each figure is the median. See README.md.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

DATASETS = ("penguins", "breast_cancer", "wine", "diabetes")
ESTIMATORS = ("hist_gradient_boosting", "random_forest", "linear")
KEY_METRICS = {"classification": ("accuracy", "balanced_accuracy", "roc_auc", "log_loss"),
               "regression": ("rmse", "mae", "r2")}


def table(name: str):
    if name == "penguins":
        from palmerpenguins import load_penguins

        return load_penguins(), "species"
    from sklearn import datasets

    return getattr(datasets, f"load_{name}")(as_frame=True).frame, "target"


def train(df, target: str, estimator: str, root: Path):
    from model_containers.training.contract import TrainingContext
    from model_containers.training.tabular import train_tabular

    (root / "train").mkdir(parents=True)
    df.to_csv(root / "train" / "table.csv", index=False)
    lines: list[str] = []
    ctx = TrainingContext(channels={"train": root / "train"}, hyperparameters={"target": target, "estimator": estimator},
                          model_dir=root / "model", output_dir=root / "output", log=lines.append)
    started = time.perf_counter()
    manifest = train_tabular(ctx)
    total = time.perf_counter() - started
    fitted = next(float(m.group(1)) for line in lines if (m := re.match(r"fitted in ([0-9.]+)s", line)))
    return manifest, fitted, total


def latency(model_dir: Path, df, target: str, rounds: int, repeat: int) -> dict[str, float]:
    """Median seconds per call: served pipeline vs bare estimator, 1 row and 64 rows."""
    from model_containers.manifest import load_manifest
    from model_containers.runtimes.sklearn import SklearnRuntime
    from model_containers.serving.schema import InputSchema

    manifest = load_manifest(model_dir)
    runtime = SklearnRuntime()
    runtime.load(model_dir, manifest)
    schema = InputSchema(manifest.signature, table=runtime.table)
    features = [s.name for s in manifest.signature.inputs]
    rows = df[features].astype(object).where(df[features].notna(), None)
    records = [dict(zip(features, r)) for r in rows.itertuples(index=False)]
    pipeline = runtime._model
    prepared = {n: schema.records(records[:n]) for n in (1, 64)}
    matrices = {n: pipeline[:-1].transform(runtime._input(prepared[n])) for n in (1, 64)}
    bare = pipeline[-1]
    cases = {
        "pipeline_1": lambda: runtime.predict(schema.records(records[:1])),
        "pipeline_64": lambda: runtime.predict(schema.records(records[:64])),
        "bare_1": lambda: bare.predict(matrices[1]),
        "bare_64": lambda: bare.predict(matrices[64]),
    }
    for call in cases.values():
        call()  # warm
    samples: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(rounds):
        for name, call in cases.items():
            started = time.perf_counter()
            for _ in range(repeat):
                call()
            samples[name].append((time.perf_counter() - started) / repeat)
    return {k: statistics.median(v) for k, v in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.training")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--estimators", default=",".join(ESTIMATORS))
    parser.add_argument("--rounds", type=int, default=15, help="latency rounds (each figure: their median)")
    parser.add_argument("--repeat", type=int, default=20, help="calls per round")
    args = parser.parse_args()
    sys.modules.setdefault("sklearn.externals.array_api_compat.torch", None)
    print(f"host.cpus={os.cpu_count()} load_avg_1m_before={os.getloadavg()[0]:.2f}")
    header = (f"{'data set':<14} {'estimator':<23} {'rows':>5} {'fit s':>6} {'train s':>7}  "
              f"{'pipe 1 ms':>9} {'bare 1 ms':>9} {'x':>5}  {'pipe 64 ms/row':>14} {'bare 64 ms/row':>14} {'x':>5}  metrics")
    print(header)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.datasets.split(","):
            df, target = table(name)
            for estimator in args.estimators.split(","):
                root = Path(tmp) / f"{name}-{estimator}"
                manifest, fit_s, total_s = train(df, target, estimator, root)
                # the serving runtime puts OpenMP on one thread for the predicting thread
                # (this one), so both sides below run as served
                lat = latency(root / "model", df, target, args.rounds, args.repeat)
                task = manifest["training"]["task"]
                metrics = manifest["metrics"]
                shown = ", ".join(f"{k} {metrics[k]:.3f}" for k in KEY_METRICS[task] if k in metrics)
                r1 = lat["pipeline_1"] / lat["bare_1"]
                r64 = lat["pipeline_64"] / lat["bare_64"]
                print(f"{name:<14} {estimator:<23} {len(df):>5} {fit_s:>6.2f} {total_s:>7.2f}  "
                      f"{lat['pipeline_1'] * 1e3:>9.3f} {lat['bare_1'] * 1e3:>9.3f} {r1:>5.1f}  "
                      f"{lat['pipeline_64'] / 64 * 1e3:>14.4f} {lat['bare_64'] / 64 * 1e3:>14.4f} {r64:>5.1f}  {shown}")
                results.append((name, estimator, fit_s, total_s, lat, metrics, r1, r64))
    print()
    for name, estimator, fit_s, total_s, lat, metrics, r1, r64 in results:
        key = f"{name}.{estimator}"
        print(f"{key}.fit_s={fit_s:.3f} {key}.train_s={total_s:.3f}")
        for metric, value in metrics.items():
            if not metric.startswith(("cv_", "n_")) and isinstance(value, float) and math.isfinite(value):
                print(f"{key}.holdout.{metric}={value:.4f}")
        print(f"{key}.pipeline_1_ms={lat['pipeline_1'] * 1e3:.3f} {key}.bare_1_ms={lat['bare_1'] * 1e3:.3f} "
              f"{key}.ratio_1={r1:.2f}")
        print(f"{key}.pipeline_64_ms_per_row={lat['pipeline_64'] / 64 * 1e3:.4f} "
              f"{key}.bare_64_ms_per_row={lat['bare_64'] / 64 * 1e3:.4f} {key}.ratio_64={r64:.2f}")
    print(f"median_ratio_1={statistics.median(r[6] for r in results):.2f} "
          f"median_ratio_64={statistics.median(r[7] for r in results):.2f} "
          "(served pipeline / bare estimator predict, same run)")
    print(f"load_avg_1m_after={os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
