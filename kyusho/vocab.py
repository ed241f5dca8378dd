"""The product's closed vocabularies: identifier ↔ Japanese label, with the input aliases.

One place for every code stored in the database, shown on screen or accepted in CSV, so that
screens, import and JSON speak the same words (GLOSSARY.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

CLAIM_STATUSES = MappingProxyType(
    {
        "active": "管理中",
        "suspended": "管理事務停止",
        "written_off": "求償権整理",
        "waived": "求償権放棄",
        "paid": "完済",
    }
)

ROLES = MappingProxyType(
    {
        "principal_debtor": "主債務者",
        "joint_guarantor": "連帯保証人",
        "collateral_provider": "物上保証人",
    }
)

OBLIGOR_KINDS = MappingProxyType({"corporation": "法人", "person": "個人"})

OBLIGOR_STATES = MappingProxyType(
    {
        "normal": "通常",
        "whereabouts_unknown": "所在不明",
        "bankruptcy_pending": "破産手続中",
        "discharged": "免責確定",
        "extinguished": "法人格消滅",
        "deceased": "死亡",
        "inheritance_renounced": "相続放棄",
    }
)

ALLOCATION_ORDERS = MappingProxyType({"statutory": "法定", "principal_first": "元金"})

SUSPENSION_REASONS = MappingProxyType(
    {
        "whereabouts_unknown": "所在不明",
        "discharged_no_recourse": "主債務者の免責・法人格消滅で回収可能な保証人なし",
        "inheritance_renounced": "相続放棄",
        "insolvent": "無資力",
        "limitation_invoked": "時効援用",
        "small_balance": "少額・費用倒れ",
        "collateral_exhausted": "担保処分完了",
    }
)
DECISION_KINDS = MappingProxyType(
    {
        "suspension": "管理事務停止",
        "reactivation": "管理再開",
        "write_off": "求償権整理",
        "damages_waiver": "損害金減免",
        "partial_release": "一部弁済免除",
        "gl_release": "経営者保証GL免除",
        "waiver": "求償権放棄",
    }
)
DECISION_STATUSES = MappingProxyType(
    {"proposed": "起案中", "approved": "決裁済", "rejected": "差戻し", "withdrawn": "取下げ"}
)
ENTRY_KINDS = MappingProxyType(
    {"receipt": "入金", "cost": "費用", "damages_waiver": "損害金減免", "waiver": "求償権放棄"}
)

RECEIPT_METHODS = MappingProxyType(
    {
        "transfer": "振込",
        "direct_debit": "口座振替",
        "cash": "現金",
        "collateral_sale": "担保処分",
        "dividend": "配当",
        "other": "その他",
    }
)

CONTACT_CHANNELS = MappingProxyType(
    {
        "phone": "電話",
        "meeting": "面談",
        "letter": "文書",
        "visit": "訪問",
        "other": "その他",
        # the review of a suspended claim (SPEC 4.9): sets the claim's next review date
        "review": "見直し",
    }
)

# Limitation event kinds (SPEC 4.6, 5.4). The label is the canonical Japanese name; aliases are
# other Japanese names accepted on input that map to the same kind.
EVENT_KINDS = MappingProxyType(
    {
        "acknowledgement": "承認",
        "demand": "催告",
        "agreement": "協議合意",
        "agreement_refused": "協議拒絶",
        "suit_filed": "訴え提起",
        "judgment_final": "判決確定",
        "suit_withdrawn": "訴え取下げ",
        "enforcement_filed": "強制執行申立",
        "enforcement_ended": "強制執行終了",
        "enforcement_withdrawn": "強制執行取下げ",
        "provisional_filed": "仮差押",
        "provisional_ended": "仮差押終了",
        "discharge": "免責確定",
        "extinguished": "法人格消滅",
        "invoked": "時効援用",
    }
)
EVENT_KIND_ALIASES = MappingProxyType(
    {
        "支払督促申立": "suit_filed",
        "調停申立": "suit_filed",
        "破産手続参加": "suit_filed",
        "和解成立": "judgment_final",
        "調停成立": "judgment_final",
        "支払督促確定": "judgment_final",
        "却下": "suit_withdrawn",
    }
)

LIMITATION_STATES = MappingProxyType(
    {
        "running": "進行中",
        "suspended": "完成猶予中",
        "completed": "完成",
        "invoked": "援用済",
        "extinguished": "消滅",
        "released": "免除",
    }
)

STAFF_ROLES = MappingProxyType({"staff": "担当者", "manager": "管理職", "admin": "管理者"})
ROLE_RANK = MappingProxyType({"staff": 0, "manager": 1, "admin": 2})


def code_for(
    vocab: Mapping[str, str], text: str, aliases: Mapping[str, str] | None = None
) -> str | None:
    """The identifier for ``text`` given as identifier, Japanese label or alias; None if unknown."""
    text = text.strip()
    if text in vocab:
        return text
    for code, label in vocab.items():
        if label == text:
            return code
    if aliases and text in aliases:
        return aliases[text]
    return None


# decision kinds whose approval needs policy.approval.min_role_high (PostgreSQL enforces it
# in the server too)
HIGH_KINDS = frozenset({"write_off", "waiver"})
