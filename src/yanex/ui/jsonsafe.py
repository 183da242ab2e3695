"""Plain data that strict JSON can carry.

Metrics may be NaN or infinite, which JSON cannot spell; browsers refuse
Python's ``NaN`` token, so every non-finite number becomes ``null``.
"""

from __future__ import annotations

import json
import math
from typing import Any


def clean(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [clean(item) for item in value]
    return value


def dumps(value: Any) -> bytes:
    """Strict, compact UTF-8 JSON of ``value``."""
    text = json.dumps(
        clean(value), ensure_ascii=False, allow_nan=False, separators=(",", ":")
    )
    return text.encode("utf-8")
