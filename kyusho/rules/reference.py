"""The reference data the product ships (copied from shared/reference into kyusho/data)."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any


@cache
def load(name: str) -> dict[str, Any]:
    """Parse one shipped TOML file (ordinances, waiver_checklist, gl_living_costs)."""
    text = resources.files("kyusho.data").joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


@cache
def municipality_names() -> frozenset[str]:
    return frozenset(g["name"] for g in load("ordinances")["government"])


def ordinance(name: str) -> dict[str, Any] | None:
    return next((g for g in load("ordinances")["government"] if g["name"] == name), None)
