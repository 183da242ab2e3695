"""What must hold in a store after any fault, checked against the witness.

:func:`check` reads the store the way a user would (records, the truthful
status, the index behind ``yanex list``) and compares it with what the
scripts acknowledged. It returns every violation it finds, as sentences,
and counts of what it looked at for the figures.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faultkit.witness import Witness, metric_of, step_of
from yanex import layout, query
from yanex.errors import YanexError
from yanex.experiment import Experiment
from yanex.store import RECORDED_STATUSES, Store

#: Statuses an experiment may read back as once every runner is gone.
SETTLED = ("completed", "failed", "cancelled", "lost", "staged")


@dataclass
class Findings:
    """Violations found in one store, and what was counted on the way."""

    violations: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def fail(self, message: str) -> None:
        self.violations.append(message)


def check(
    store_root: Path,
    witnesses: dict[str, Witness],
    rows_per_writer: int,
    allowed: Collection[str] = SETTLED,
) -> Findings:
    """Check every invariant of a store whose runners have all ended."""
    findings = Findings()
    store = Store(store_root)
    experiments = _read_experiments(store, findings)
    for experiment_id, experiment in experiments.items():
        witness = witnesses.get(experiment_id, Witness())
        _check_status(experiment, witness, rows_per_writer, allowed, findings)
        _check_rows(experiment, witness, findings)
    for experiment_id, witness in witnesses.items():
        experiment = experiments.get(experiment_id)
        if experiment is None:
            findings.fail(
                f"a script ran for {experiment_id}, which is not in the store"
            )
            continue
        # A run cut short with its runner may be taken over, and says so.
        restarts = int(experiment.metadata.get("restarts") or 0)
        findings.counts["runs taken over after their runner died"] += restarts
        if witness.starts > 1 + restarts:
            findings.fail(
                f"{experiment_id} ran {witness.starts} times,"
                f" {restarts} of them recorded as restarts"
            )
            findings.counts["duplicate runs"] += witness.starts - 1 - restarts
    _check_index(store, experiments, findings)
    return findings


def _read_experiments(store: Store, findings: Findings) -> dict[str, Experiment]:
    """Every experiment directory, each record parsed strictly."""
    found: dict[str, Experiment] = {}
    if not store.root.is_dir():
        return found
    incoming = store.root / ".new"
    if incoming.is_dir():
        findings.counts["unfinished experiments left in .new"] += len(
            list(incoming.iterdir())
        )
    for path in sorted(store.root.iterdir()):
        if not layout.is_valid_id(path.name):
            continue
        if not (path / layout.METADATA_FILE).is_file():
            findings.fail(f"{path.name} is a directory without metadata")
            continue
        metadata = _parse_record(path / layout.METADATA_FILE, findings)
        params = _parse_record(path / layout.PARAMS_FILE, findings)
        if (path / layout.GIT_FILE).exists():
            _parse_record(path / layout.GIT_FILE, findings)
        _parse_metrics(path / layout.METRICS_FILE, findings)
        findings.counts["leftover temporary files"] += len(list(path.glob(".*.tmp")))
        if metadata is None or params is None:
            continue
        if metadata.get("id") != path.name:
            findings.fail(f"{path.name}: metadata names id {metadata.get('id')!r}")
        if metadata.get("status") not in RECORDED_STATUSES:
            findings.fail(f"{path.name}: unknown status {metadata.get('status')!r}")
        found[path.name] = Experiment(store, path.name, metadata)
    findings.counts["experiments checked"] += len(found)
    return found


def _parse_record(path: Path, findings: Findings) -> dict[str, Any] | None:
    findings.counts["records parsed"] += 1
    try:
        record = json.loads(path.read_bytes())
    except (OSError, ValueError) as error:
        findings.fail(f"{path.parent.name}/{path.name} does not parse: {error}")
        return None
    if not isinstance(record, dict) or record.get("yanex_format") != 1:
        findings.fail(f"{path.parent.name}/{path.name} is not a version 1 record")
        return None
    return record


def _parse_metrics(path: Path, findings: Findings) -> None:
    if not path.exists():
        return
    lines = path.read_bytes().splitlines()
    findings.counts["records parsed"] += len(lines)
    for number, line in enumerate(lines, start=1):
        try:
            json.loads(line)
        except ValueError:
            findings.fail(f"{path.parent.name}/{path.name} line {number} is damaged")


def _check_status(
    experiment: Experiment,
    witness: Witness,
    rows_per_writer: int,
    allowed: Collection[str],
    findings: Findings,
) -> None:
    status = experiment.status
    findings.counts[f"experiments read back {status}"] += 1
    if status not in allowed:
        findings.fail(
            f"{experiment.id} reads back {status} ({experiment.status_reason})"
        )
    if status == "staged" and witness.starts:
        findings.fail(f"{experiment.id} is still staged, yet its script ran")
    if status == "completed":
        writers = 1 + int(experiment.params.get("writers", 0))
        if not witness.ended or len(witness.rows) != writers * rows_per_writer:
            findings.fail(
                f"{experiment.id} reads completed, yet its script did not finish"
            )


def _check_rows(experiment: Experiment, witness: Witness, findings: Findings) -> None:
    steps = {row["step"]: row["metrics"] for row in experiment.metrics_history().steps}
    findings.counts["metric rows acknowledged"] += len(witness.rows)
    for writer, row in sorted(witness.rows):
        logged = steps.get(step_of(writer, row), {})
        if logged.get(metric_of(writer)) != row:
            findings.counts["metric rows lost"] += 1
            findings.fail(
                f"{experiment.id}: acknowledged row {row} of writer {writer} is lost"
            )


def _check_index(
    store: Store, experiments: dict[str, Experiment], findings: Findings
) -> None:
    """The index behind ``yanex list`` must agree with the directories."""
    try:
        selection = query.select(store, query.Filters(archived=query.INCLUDE))
        ids = [row["id"] for row in selection.rows]
        _, finals = query.params_and_metrics(store, ids)
    except YanexError as error:
        findings.fail(f"the index cannot be read: {error}")
        return
    listed = {row["id"]: row for row in selection.rows}
    if set(listed) != set(experiments):
        missing = sorted(set(experiments) - set(listed))
        extra = sorted(set(listed) - set(experiments))
        findings.fail(
            f"the index lists {extra} that are not there and misses {missing}"
        )
    for experiment_id, row in listed.items():
        experiment = experiments.get(experiment_id)
        if experiment is None:
            continue
        if row["status"] != experiment.status:
            findings.fail(
                f"the index says {experiment_id} is {row['status']},"
                f" its directory says {experiment.status}"
            )
        summary = experiment.metadata.get("metrics_summary") or {}
        if finals.get(experiment_id, {}) != (summary.get("final") or {}):
            findings.fail(f"the index has other final metrics for {experiment_id}")
    findings.counts["index rows compared"] += len(listed)
