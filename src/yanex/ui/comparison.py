"""Comparing experiments: what differs, how they ended, their curves.

A comparison names experiments by id (or prefix, or name) or takes a whole
sweep. Parameters are shown only where they differ (all of them for a
single experiment); final metrics always. Histories, for the overlaid
curves, are sent for at most :data:`MAX_CURVES` experiments, since a
thousand-member sweep would drown the chart and the connection alike.
"""

from __future__ import annotations

from typing import Any

from yanex import query
from yanex.errors import UsageError
from yanex.experiment import Experiment
from yanex.index import Index
from yanex.store import Store
from yanex.ui.arguments import Arguments

MAX_CURVES = 50
MAX_EXPERIMENTS = 2000


def compare(store: Store, arguments: Arguments) -> dict[str, Any]:
    """The experiments the arguments select, side by side."""
    index = Index(store)
    try:
        rows = _chosen(store, index, arguments)
        ids = [row["id"] for row in rows]
        params, metrics = query.params_and_metrics(store, ids, index)
    finally:
        index.close()
    return {
        "experiments": [
            {"id": r["id"], "name": r["name"], "status": r["status"]} for r in rows
        ],
        "param_keys": _keys(params, ids, only_differing=len(ids) > 1),
        "metric_keys": _keys(metrics, ids, only_differing=False),
        "params": params,
        "metrics": metrics,
        "histories": _histories(store, ids[:MAX_CURVES]),
        "curves_truncated": len(ids) > MAX_CURVES,
        "max_curves": MAX_CURVES,
    }


def _chosen(store: Store, index: Index, arguments: Arguments) -> list[dict[str, Any]]:
    names = arguments.all("ids")
    sweep = arguments.one("sweep")
    if not names and sweep is None:
        raise UsageError("name experiments with ids=A,B or a sweep with sweep=ID")
    ids = tuple(query.resolve_many(store, names))
    filters = query.Filters(ids=ids, sweep=sweep, archived=query.INCLUDE)
    rows = query.select(store, filters, MAX_EXPERIMENTS, index).rows
    if ids:
        position = {experiment_id: i for i, experiment_id in enumerate(ids)}
        rows.sort(key=lambda row: position[row["id"]])
    else:
        rows.sort(key=lambda row: (row.get("sweep_index") or 0, row["id"]))
    return rows


def _keys(
    values: dict[str, dict[str, Any]], ids: list[str], only_differing: bool
) -> list[str]:
    keys: dict[str, None] = {}
    for experiment_id in ids:
        keys.update(dict.fromkeys(values.get(experiment_id, {})))
    if not only_differing:
        return list(keys)
    return [
        key for key in keys if len({repr(values.get(i, {}).get(key)) for i in ids}) > 1
    ]


def _histories(store: Store, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Each experiment's curves: steps, and each metric's value per step."""
    curves: dict[str, dict[str, Any]] = {}
    for experiment_id in ids:
        history = Experiment(store, experiment_id).metrics_history()
        steps = [row["step"] for row in history.steps]
        series = {
            name: [_number(row["metrics"].get(name)) for row in history.steps]
            for name in history.names()
        }
        curves[experiment_id] = {"steps": steps, "series": series}
    return curves


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
