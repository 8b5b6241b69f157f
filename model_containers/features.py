"""Feature transformers of Modelport's own that a served pipeline may contain.

The reference trainer puts these inside the scikit-learn ``Pipeline`` it saves, so the
serving container must be able to load them: they are listed, by exact name, among the
types the skops loader trusts (``model_containers.runtimes.sklearn``). They hold only
plain data (lists of strings) and run only numpy arithmetic.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

#: parts every date column is expanded into; time-of-day parts are added when the
#: training data has any time other than midnight
DATE_PARTS = ("year", "month", "day", "weekday", "dayofyear", "days")
TIME_PARTS = ("hour", "minute")
_DAY_NS = 86_400 * 10**9


class DateFeatures(TransformerMixin, BaseEstimator):
    """Expands ``datetime64`` columns into numbers: calendar parts and days since 1970.

    Missing dates (NaT) give NaN in every part, for the imputer (or a model that takes
    NaN) downstream. ``days`` keeps the trend; ``month``, ``weekday`` and ``dayofyear``
    the seasons.
    """

    def fit(self, X, y=None):
        cols = self._columns(X)
        self.n_features_in_ = len(cols)
        names = getattr(X, "columns", None)
        self.columns_ = [str(c) for c in names] if names is not None else [f"x{i}" for i in range(len(cols))]
        self.parts_ = []
        for col in cols:
            ns = col.astype("datetime64[ns]").astype(np.int64)
            known = ns[~np.isnat(col)]
            timed = bool(known.size) and bool(np.any(known % _DAY_NS))
            self.parts_.append(list(DATE_PARTS + (TIME_PARTS if timed else ())))
        return self

    def transform(self, X):
        cols = self._columns(X)
        if len(cols) != self.n_features_in_:
            raise ValueError(f"expected {self.n_features_in_} date columns, got {len(cols)}")
        out = [_expand(col, parts) for col, parts in zip(cols, self.parts_)]
        return np.column_stack(out) if out else np.empty((0, 0))

    def get_feature_names_out(self, input_features=None):
        names = input_features if input_features is not None else self.columns_
        return np.array([f"{n}_{p}" for n, parts in zip(names, self.parts_) for p in parts], dtype=object)

    @staticmethod
    def _columns(X) -> list[np.ndarray]:
        if hasattr(X, "columns"):  # a DataFrame (what the ColumnTransformer hands on)
            return [np.asarray(X[c], dtype="datetime64[ns]") for c in X.columns]
        arr = np.asarray(X, dtype="datetime64[ns]")
        return [arr[:, i] for i in range(arr.shape[1])]


def _expand(col: np.ndarray, parts: list[str]) -> np.ndarray:
    missing = np.isnat(col)
    days = col.astype("datetime64[D]")
    months = col.astype("datetime64[M]")
    years = col.astype("datetime64[Y]")
    values = {
        "year": years.astype(np.int64) + 1970,
        "month": months.astype(np.int64) % 12 + 1,
        "day": (days - months.astype("datetime64[D]")).astype(np.int64) + 1,
        # 1970-01-01 was a Thursday: Monday is 0, as in pandas
        "weekday": (days.astype(np.int64) + 3) % 7,
        "dayofyear": (days - years.astype("datetime64[D]")).astype(np.int64) + 1,
        "days": days.astype(np.int64),
    }
    if "hour" in parts:
        seconds = (col - days).astype("timedelta64[s]").astype(np.int64)
        values["hour"], values["minute"] = seconds // 3600, seconds % 3600 // 60
    out = np.empty((len(col), len(parts)), dtype=np.float64)
    for j, part in enumerate(parts):
        out[:, j] = values[part]
    out[missing] = np.nan
    return out
