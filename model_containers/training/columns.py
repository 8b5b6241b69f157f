"""What each column of a training table is, decided once, and the frame the model sees.

:func:`plan_table` looks at every feature column and gives it a role:

* ``numeric``: numbers (imputed downstream); integer columns keep dtype ``int64``;
* ``categorical``: text with few distinct values, or integers with at most
  ``LOW_CARDINALITY`` distinct values (unknown values at serving time are handled by the
  encoder, not refused);
* ``boolean``: ``bool`` columns and text such as yes/no, true/false;
* ``datetime``: ISO-8601 dates (or ``datetime64`` in Parquet), expanded into numbers;
* ``ignored``: a column with one value (or none) in every row: kept in the signature so
  rows of the whole table still fit, never used.

Everything else is a :class:`TrainingError` that names the column and what to do: free
text and identifiers, dates not in ISO-8601, numbers mixed with text, infinities,
durations. :func:`prepare` converts the table with the serving container's own column
rules (:mod:`model_containers.columns`), so training and serving read values alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from model_containers.columns import _FALSE, _TRUE, MISSING_TEXT, Column
from model_containers.errors import TrainingError

#: integer columns with at most this many distinct values are categories
LOW_CARDINALITY = 10
#: text columns with more distinct values than this are refused (hyperparameter max_categories)
MAX_CATEGORIES = 100
#: categories recorded in the signature, per column (the encoder keeps them all)
SIGNATURE_CATEGORIES = 100
_DATE_SHAPE = re.compile(r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T].*)?$")


@dataclass(frozen=True)
class Role:
    """One feature column: its role, its signature dtype and, for categories, their values."""

    name: str
    kind: str  # numeric | categorical | boolean | datetime | ignored
    dtype: str
    categories: tuple = ()
    note: str = ""


@dataclass(frozen=True)
class TablePlan:
    target: str
    roles: tuple[Role, ...]
    dropped: tuple[str, ...] = field(default=())

    @property
    def inputs(self) -> list[str]:
        """Every column a served row carries (ignored ones included), in table order."""
        return [r.name for r in self.roles]

    def of(self, kind: str) -> list[str]:
        return [r.name for r in self.roles if r.kind == kind]

    def signature_inputs(self) -> list[dict[str, Any]]:
        out = []
        for r in self.roles:
            spec: dict[str, Any] = {"name": r.name, "dtype": r.dtype, "shape": [-1]}
            if r.kind == "categorical" and len(r.categories) <= SIGNATURE_CATEGORIES:
                spec["categories"] = list(r.categories)
            out.append(spec)
        return out


def names_list(value: Any, what: str) -> list[str]:
    """A hyperparameter naming columns: a JSON list, or names separated by commas."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, (str, int)) for v in value):
        return [str(v) for v in value]
    raise TrainingError(f"hyperparameter {what} must name columns: a list, or names separated by commas")


def plan_table(df, target: str, *, drop: list[str], categorical: list[str], numeric: list[str],
               max_categories: int = MAX_CATEGORIES) -> TablePlan:
    """The role of every feature column of ``df``; a TrainingError for each data problem."""
    columns = [str(c) for c in df.columns]
    for what, names in (("drop", drop), ("categorical", categorical), ("numeric", numeric)):
        unknown = [n for n in names if n not in columns]
        if unknown:
            raise TrainingError(f"hyperparameter {what} names columns the data does not have: "
                                + ", ".join(repr(n) for n in unknown))
    both = sorted(set(categorical) & set(numeric))
    if both:
        raise TrainingError(f"column {both[0]!r} is listed as both categorical and numeric")
    if target in drop:
        raise TrainingError(f"the target column {target!r} cannot be dropped")
    features = [c for c in columns if c != target and c not in drop]
    if not features:
        raise TrainingError("the data has no feature columns besides the target")
    roles = tuple(_role(df[c], c, len(df), force_cat=c in categorical, force_num=c in numeric,
                        max_categories=max_categories) for c in features)
    if all(r.kind == "ignored" for r in roles):
        raise TrainingError("every feature column holds a single value (or none): nothing to learn from")
    return TablePlan(target=target, roles=roles, dropped=tuple(drop))


def _role(series, name: str, rows: int, *, force_cat: bool, force_num: bool, max_categories: int) -> Role:
    kind = series.dtype.kind
    values = series.dropna()
    if kind == "m":
        raise TrainingError(f"column {name!r} holds durations: convert them to numbers (e.g. seconds) "
                            "or drop the column")
    if kind == "M":
        return _constant_or(values, name, Role(name, "datetime", "datetime"))
    if kind == "b" and not force_num:
        return _constant_or(values, name, Role(name, "boolean", "bool"))
    if kind in "iufb":
        numbers = values.astype(np.float64)
        bad = int(np.isinf(numbers).sum())
        if bad:
            raise TrainingError(f"column {name!r} holds infinite values in {bad} rows: replace them "
                                "with numbers, or leave the cells empty for missing values")
        integral = kind in "iub" or bool(np.all(numbers == np.round(numbers)))
        dtype = "int64" if integral else "float64"
        distinct = values.nunique()
        if force_cat or (integral and 2 <= distinct <= LOW_CARDINALITY and not force_num):
            return _categories(values, name, dtype, max_categories, ints=integral)
        return _constant_or(values, name, Role(name, "numeric", dtype))
    return _text_role(values, name, rows, force_cat=force_cat, force_num=force_num, max_categories=max_categories)


def _text_role(values, name: str, rows: int, *, force_cat: bool, force_num: bool, max_categories: int) -> Role:
    texts = values.astype(str).str.strip()
    texts = texts[~texts.str.lower().isin(MISSING_TEXT)]
    if texts.empty:
        return Role(name, "ignored", "string", note="no values")
    numbers = _as_numbers(texts)
    parsed = int(numbers.notna().sum())
    if force_num or (not force_cat and parsed >= 0.9 * len(texts)):
        if parsed < len(texts):
            first = int(numbers.isna().to_numpy().argmax())
            raise TrainingError(
                f"column {name!r} holds numbers, but {len(texts) - parsed} of its values are not numbers "
                f"(the first in data row {texts.index[first] + 1}): fix or empty those cells, or list the "
                "column in the hyperparameter categorical to treat its values as categories")
        integral = bool(np.all(numbers == np.round(numbers)))
        return _constant_or(numbers, name, Role(name, "numeric", "int64" if integral else "float64"))
    lowered = set(texts.str.lower().unique())
    if not force_cat and lowered <= (_TRUE | _FALSE) and len(lowered) == 2:
        return Role(name, "boolean", "bool")
    if not force_cat and texts.str.match(_DATE_SHAPE).all():
        return _dates(texts, name)
    distinct = texts.nunique()
    if distinct > max_categories:
        raise TrainingError(
            f"column {name!r} looks like free text or an identifier ({distinct} distinct values in "
            f"{rows} rows), and the reference trainer takes categories of at most {max_categories} "
            f"values: drop it (hyperparameter drop={name}), raise max_categories, or bring a train.py")
    if not force_cat and distinct > 20 and distinct >= 0.9 * len(texts):
        raise TrainingError(
            f"column {name!r} looks like an identifier ({distinct} of its {len(texts)} values are "
            f"distinct): drop it (hyperparameter drop={name}), list it in the hyperparameter "
            "categorical to keep it, or bring a train.py")
    return _categories(texts, name, "string", max_categories)


def _as_numbers(texts):
    import pandas as pd

    return pd.to_numeric(texts, errors="coerce")


def _dates(texts, name: str) -> Role:
    import pandas as pd

    try:
        pd.to_datetime(texts, format="ISO8601", utc=True)
    except (ValueError, TypeError, OverflowError):
        raise TrainingError(
            f"column {name!r} holds dates that are not in ISO-8601 form: write them as YYYY-MM-DD "
            "(or YYYY-MM-DDTHH:MM:SS), or drop the column") from None
    return _constant_or(texts, name, Role(name, "datetime", "datetime"))


def _categories(values, name: str, dtype: str, max_categories: int, *, ints: bool = False) -> Role:
    distinct = sorted(values.unique().tolist(), key=lambda v: (str(type(v)), v))
    if len(distinct) > max_categories:
        raise TrainingError(f"column {name!r} has {len(distinct)} distinct values, more than "
                            f"max_categories={max_categories}: raise max_categories or drop the column")
    if len(distinct) < 2:
        return Role(name, "ignored", dtype, note="a single value")
    if ints:
        distinct = [int(v) for v in distinct]
    else:
        distinct = [str(v) for v in distinct]
    return Role(name, "categorical", dtype, categories=tuple(distinct))


def _constant_or(values, name: str, role: Role) -> Role:
    if values.nunique() < 2:
        return Role(name, "ignored", role.dtype, note="a single value" if len(values) else "no values")
    return role


def prepare(df, plan: TablePlan):
    """The frame the pipeline is fitted on: each column converted as serving converts it."""
    import pandas as pd

    from model_containers.errors import InvalidInput

    out = {}
    for role in plan.roles:
        dtype = "string" if role.kind == "categorical" and role.dtype == "string" else role.dtype
        try:
            out[role.name] = Column(role.name, dtype).convert(df[role.name].to_numpy(dtype=object))
        except InvalidInput as exc:  # a value the plan did not foresee; name the column
            raise TrainingError(f"column {role.name!r}: {exc.message.replace('input ', '', 1)}") from None
    return pd.DataFrame(out, index=df.index)


def label_values(series, task: str):
    """The target as the array the model learns (and serves back): original labels kept."""
    if task == "regression":
        if series.dtype.kind in "iuf":
            return series.to_numpy(dtype=np.float64)
        numbers = _as_numbers(series.astype(str))
        if numbers.isna().any():
            raise TrainingError(f"task is regression but the target {series.name!r} holds text: "
                                "set task=classification, or fix the target")
        return numbers.to_numpy(dtype=np.float64)
    kind = series.dtype.kind
    if kind == "b":
        return series.to_numpy(dtype=bool)
    if kind in "iu":
        return series.to_numpy(dtype=np.int64)
    if kind == "f":
        values = series.to_numpy(dtype=np.float64)
        return values.astype(np.int64) if np.all(values == np.round(values)) else values
    return series.astype(str).to_numpy(dtype=object)
