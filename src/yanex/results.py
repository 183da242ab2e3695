"""Reading experiments back from Python, with the command line's filters.

::

    from yanex import results

    best = results.get_best("accuracy", maximize=True, sweep="3fa2")
    print(best.id, best.params, best.final_metrics)
    frame = results.compare(status="completed", tags=["cifar"])   # pandas
    curves = results.metrics(sweep="3fa2")                         # pandas

Filters are keyword arguments with the meaning of the ``yanex list``
options: ``status`` (a status or a list, any of them), ``tags`` (all must
match), ``name`` and ``script`` (glob patterns), ``sweep`` (id or prefix),
``started_after``/``started_before``/``ended_after``/``ended_before`` (a
datetime or text such as ``"2 days ago"``), ``where`` (a condition or a list
of them, all must hold: ``"lr<0.01"``), ``include_archived``, ``ids`` and
``store`` (a path or :class:`~yanex.store.Store`; default: the configured
store). Statuses are the truthful ones: a dead runner's experiment is
``lost``. The DataFrame functions need pandas (``pip install
'yanex[results]'``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from yanex import query, timeparse, where
from yanex.errors import YanexError
from yanex.experiment import Experiment
from yanex.store import Store

__all__ = [
    "Experiment",
    "compare",
    "find",
    "get_best",
    "get_experiment",
    "get_latest",
    "metrics",
]


def find(limit: int | None = None, **filters: Any) -> list[Experiment]:
    """Experiments matching the filters, newest first."""
    store, chosen = _filters(filters)
    selection = query.select(store, chosen, limit=limit)
    return [Experiment(store, row["id"]) for row in selection.rows]


def get_experiment(
    experiment_id: str, store: Store | str | os.PathLike[str] | None = None
) -> Experiment:
    """One experiment by id, unique id prefix or exact name."""
    resolved_store = _store(store)
    return Experiment(resolved_store, query.resolve(resolved_store, experiment_id))


def get_latest(**filters: Any) -> Experiment | None:
    """The newest experiment matching the filters, or None."""
    found = find(limit=1, **filters)
    return found[0] if found else None


def get_best(metric: str, maximize: bool = True, **filters: Any) -> Experiment | None:
    """The experiment with the best final value of ``metric``, or None."""
    store, chosen = _filters(filters)
    rows = query.select(store, chosen).rows
    _, final = query.params_and_metrics(store, [row["id"] for row in rows])
    scored = [
        (value, row["id"])
        for row in rows
        if _is_number(value := final.get(row["id"], {}).get(metric))
    ]
    if not scored:
        return None
    best = max(scored) if maximize else min(scored)
    return Experiment(store, best[1])


def compare(
    params: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    **filters: Any,
) -> Any:
    """A DataFrame, one row per experiment: id, name, status, params, metrics.

    Columns are the flattened params (``model.lr``) and final metrics of the
    selected experiments, or only those named. When a param and a metric
    share a name, the metric column is called ``metric:<name>``.
    """
    pandas = _pandas("compare")
    store, chosen = _filters(filters)
    rows = query.select(store, chosen).rows
    all_params, all_metrics = query.params_and_metrics(store, [r["id"] for r in rows])
    param_keys = list(params) if params is not None else _keys(all_params)
    metric_keys = list(metrics) if metrics is not None else _keys(all_metrics)
    records = []
    for row in rows:
        record: dict[str, Any] = {
            "id": row["id"],
            "name": row["name"],
            "status": row["status"],
        }
        for key in param_keys:
            record[key] = all_params.get(row["id"], {}).get(key)
        for key in metric_keys:
            column = f"metric:{key}" if key in param_keys else key
            record[column] = all_metrics.get(row["id"], {}).get(key)
        records.append(record)
    return pandas.DataFrame.from_records(
        records, columns=["id", "name", "status", *_columns(param_keys, metric_keys)]
    )


def metrics(names: Sequence[str] | None = None, **filters: Any) -> Any:
    """A long DataFrame of metric histories: one row per experiment and step.

    Columns: ``experiment_id``, ``step``, ``time``, then one per metric.
    """
    pandas = _pandas("metrics")
    records = []
    for experiment in find(**filters):
        for step in experiment.metrics_history().steps:
            values = step["metrics"]
            if names is not None:
                values = {k: v for k, v in values.items() if k in names}
            records.append(
                {
                    "experiment_id": experiment.id,
                    "step": step["step"],
                    "time": step["time"],
                    **values,
                }
            )
    frame = pandas.DataFrame.from_records(records)
    if frame.empty:
        return pandas.DataFrame(columns=["experiment_id", "step", "time"])
    return frame


def _columns(param_keys: list[str], metric_keys: list[str]) -> list[str]:
    return [
        *param_keys,
        *(f"metric:{k}" if k in param_keys else k for k in metric_keys),
    ]


def _keys(values: dict[str, dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for per_experiment in values.values():
        seen.update(dict.fromkeys(per_experiment))
    return list(seen)


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and value == value
    )


def _pandas(function: str) -> Any:
    try:
        import pandas
    except ImportError:
        raise YanexError(
            f"yanex.results.{function}() needs pandas: pip install 'yanex[results]'"
        ) from None
    return pandas


def _store(store: Store | str | os.PathLike[str] | None) -> Store:
    return store if isinstance(store, Store) else Store(store)


_TIME_FILTERS = ("started_after", "started_before", "ended_after", "ended_before")


def _filters(options: dict[str, Any]) -> tuple[Store, query.Filters]:
    """Translate keyword filters into the store and a query."""
    options = dict(options)
    store = _store(options.pop("store", None))
    statuses = options.pop("status", None) or options.pop("statuses", None) or ()
    tags = options.pop("tags", None) or options.pop("tag", None) or ()
    conditions = options.pop("where", None) or ()
    times = {name: _time(options.pop(name, None)) for name in _TIME_FILTERS}
    ids = options.pop("ids", None) or ()
    filters = query.Filters(
        ids=tuple(query.resolve_many(store, _as_list(ids))),
        statuses=tuple(_as_list(statuses)),
        tags=tuple(_as_list(tags)),
        name=options.pop("name", None),
        script=options.pop("script", None),
        sweep=options.pop("sweep", None),
        where=tuple(where.parse_condition(text) for text in _as_list(conditions)),
        archived=query.INCLUDE
        if options.pop("include_archived", False)
        else query.EXCLUDE,
        **times,
    )
    if options:
        raise TypeError(f"unknown filter(s): {', '.join(sorted(options))}")
    return store, filters


def _as_list(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value)


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return timeparse.parse_time(str(value))
