"""The reference data the product ships (copied from shared/reference into kyusho/data)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
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


@dataclass(frozen=True)
class LivingBand:
    """One age band of the GL living-cost table (ages inclusive)."""

    min_age: int
    max_age: int
    max_days: int
    policy_default: bool = False

    @property
    def label(self) -> str:
        if self.max_age >= 150:
            return f"{self.min_age}歳以上"
        return f"{self.min_age}〜{self.max_age}歳"


@dataclass(frozen=True)
class LivingCostTable:
    """reference/gl_living_costs.toml: yen per month, the free cash, days by age."""

    monthly_yen: int
    free_property_cash_yen: int
    bands: tuple[LivingBand, ...]

    def band(self, age: int) -> LivingBand:
        for b in self.bands:
            if b.min_age <= age <= b.max_age:
                return b
        raise ValueError(f"no living-cost band for age {age}")


@cache
def gl_living_costs() -> LivingCostTable:
    raw = load("gl_living_costs")
    return LivingCostTable(
        monthly_yen=int(raw["monthly_yen"]),
        free_property_cash_yen=int(raw["free_property_cash_yen"]),
        bands=tuple(
            LivingBand(
                min_age=int(b["min_age"]),
                max_age=int(b["max_age"]),
                max_days=int(b["max_days"]),
                policy_default=bool(b.get("policy_default", False)),
            )
            for b in raw["band"]
        ),
    )


@cache
def checklist_names() -> frozenset[str]:
    """Municipalities that ship their own walk-through template
    (kyusho/data/waiver_checklist.<name>.toml); the others use the default."""
    out = set()
    for entry in resources.files("kyusho.data").iterdir():
        stem = entry.name
        if stem.startswith("waiver_checklist.") and stem.endswith(".toml"):
            out.add(stem[len("waiver_checklist.") : -len(".toml")])
    return frozenset(out)


def waiver_checklist(municipality: str | None = None) -> dict[str, Any]:
    """The walk-through template of ``municipality``: its own where one ships, else the default."""
    if municipality and municipality in checklist_names():
        return load(f"waiver_checklist.{municipality}")
    return load("waiver_checklist")
