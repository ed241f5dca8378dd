"""Finding a claim by its number: the one lookup every service shares (no service cycles)."""

from __future__ import annotations

from kyusho.errors import NotFound
from kyusho.rules.text import claim_no_key
from models.schema import Claim


def find_claim(claim_no: str) -> Claim:
    claim = Claim.get_or_none(Claim.claim_no == claim_no_key(claim_no))
    if claim is None:
        raise NotFound(f"求償権番号 {claim_no} は見つかりません")
    return claim
