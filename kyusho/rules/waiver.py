"""求償権放棄: the ordinance resolver and the walk-through template (SPEC 4.12). Pure.

For one municipality and one scheme, ``resolve`` answers from the ordinance data whether the
municipality's ordinance covers the waiver (``enacted``), whether nothing is to be waived
(``not_required``) or whether there is no ordinance (``not_enacted``), with whether an
individual assembly resolution (地方自治法96条1項10号) is needed and the notes a 協会 must act on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kyusho.rules import reference

STATUSES = {"enacted": "制定済", "not_required": "対応不要", "not_enacted": "未制定"}
IMPORTANCE = ("◎", "○", "△")
REQUIRES_FINDING = frozenset({"◎", "○"})
ANSWER_STATUSES = ("充足", "不充足", "該当なし")
CLOSURE = "closure"
REASONS = {
    "no_loss_compensation": "制度融資に損失補償がないため対応不要",
    "subsidy": "補助金（損失補助）方式のため対応不要",
    "other": "その他の理由により対応不要",
}
ASSEMBLY = "個別に議会の議決（地方自治法96条1項10号）が必要です"
CONFIRM_CLOSURE = (
    "条例が廃業型のどちらのスキーム（中小版GL廃業型・REVIC特定支援）を対象とするか確認してください"
)
ZERO_ZERO = "民間ゼロゼロ融資にもこの団体の損失補償があります（申請書に明記）"
UNKNOWN = "条例の状況が登録されていない団体です（管理者が団体を登録してください）"


@dataclass(frozen=True)
class Resolution:
    municipality: str
    status: str  # enacted | not_required | not_enacted
    assembly_resolution_needed: bool
    notes: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "municipality": self.municipality,
            "status": self.status,
            "assembly_resolution_needed": self.assembly_resolution_needed,
            "notes": list(self.notes),
        }


def _governments(ordinances: Any) -> Iterable[Mapping[str, Any]]:
    if isinstance(ordinances, Mapping):
        if "government" in ordinances:
            return ordinances["government"]
        return [{"name": k, **v} for k, v in ordinances.items()]
    return ordinances


def _scheme(checklist: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    for s in checklist.get("scheme", []):
        if s["key"] == key:
            return s
    raise KeyError(key)


def resolve(
    municipality: str,
    scheme_key: str,
    ordinances: Any = None,
    checklist: Mapping[str, Any] | None = None,
) -> Resolution:
    """The ordinance answer for ``municipality`` under the scheme ``scheme_key``.

    ``ordinances``: the ordinances data (``{"government": [...]}``) or a list of government
    tables (admin-added ones appended); ``checklist``: the data holding ``[[scheme]]``.
    A scheme key not in ``checklist`` raises KeyError (the caller validates input).
    """
    ordinances = reference.load("ordinances") if ordinances is None else ordinances
    checklist = reference.load("waiver_checklist") if checklist is None else checklist
    scheme = _scheme(checklist, scheme_key)
    gov = next((g for g in _governments(ordinances) if g.get("name") == municipality), None)
    if gov is None:
        return Resolution(municipality, "not_enacted", True, (UNKNOWN, ASSEMBLY))
    status = gov.get("status")
    notes: list[str] = []
    assembly = False
    if status == "not_required":
        notes.append(REASONS.get(gov.get("reason", "other"), REASONS["other"]))
    elif status == "enacted":
        if scheme.get("kind") == CLOSURE:
            named = gov.get("closure_schemes")
            if not gov.get("covers_closure"):
                assembly = True
                notes.append(f"条例は廃業型スキームを対象としていないため、{ASSEMBLY}")
            elif named is not None and scheme_key not in named:
                assembly = True
                notes.append(f"条例は「{scheme['name']}」を対象としていないため、{ASSEMBLY}")
            elif named is None:
                notes.append(CONFIRM_CLOSURE)
            if gov.get("closure_amended") and gov.get("covers_closure"):
                notes.append(f"廃業型への対応は {gov['closure_amended']} の改正によります")
    else:
        status = "not_enacted"
        assembly = True
        notes.append(f"条例が未制定のため、{ASSEMBLY}")
    if gov.get("zero_zero_loss_compensation"):
        notes.append(ZERO_ZERO)
    if gov.get("note"):
        notes.append(str(gov["note"]))
    return Resolution(municipality, status, assembly, tuple(notes))


def schemes(checklist: Mapping[str, Any] | None = None) -> list[tuple[str, str, str]]:
    """The schemes a waiver can rest on: (key, label, kind)."""
    checklist = reference.load("waiver_checklist") if checklist is None else checklist
    return [(s["key"], s["name"], s["kind"]) for s in checklist.get("scheme", [])]


@dataclass(frozen=True)
class TemplateItem:
    key: str
    text: str
    importance: str
    guidance: str
    not_for_schemes: tuple[str, ...]


@dataclass(frozen=True)
class TemplateSection:
    key: str
    title: str
    items: tuple[TemplateItem, ...]


@dataclass(frozen=True)
class Template:
    name: str
    sections: tuple[TemplateSection, ...]


def checklist_template(name: str | None = None) -> Template:
    """The walk-through template of municipality ``name`` (its own, else the default)."""
    raw = reference.waiver_checklist(name)
    return Template(
        name=str(raw.get("template", "default")),
        sections=tuple(
            TemplateSection(
                key=s["key"],
                title=s["title"],
                items=tuple(
                    TemplateItem(
                        key=i["key"],
                        text=i["text"],
                        importance=i["importance"],
                        guidance=i.get("guidance", ""),
                        not_for_schemes=tuple(i.get("not_for_schemes", ())),
                    )
                    for i in s.get("item", [])
                ),
            )
            for s in raw.get("section", [])
        ),
    )


def application_fields() -> dict[str, list[str]]:
    """The fields and attachments of the application (``[application]``)."""
    app = reference.load("waiver_checklist")["application"]
    return {"fields": list(app["fields"]), "attachments": list(app["attachments"])}
