"""Finding a claim by its number: the one lookup every service shares (no service cycles)."""

from __future__ import annotations

from kyusho.errors import NotFound
from kyusho.rules.text import claim_no_key, reject_invisible
from models.db import in_write_transaction, is_postgres
from models.schema import Claim

CLAIM_NO_FIELD = "求償権番号"


def find_claim(claim_no: str) -> Claim:
    """The claim whose number is ``claim_no`` in any width or case (ｒ５－１ finds R5-1).

    When nothing matches, a pasted zero-width or bidi character is named (InputError) rather
    than reported as an unknown number that looks exactly like a stored one. Checked only
    then, so a number stored with one before imports refused them can still be opened.
    Inside a write on PostgreSQL the row is read FOR UPDATE: whatever else writes to the
    database (a DBA's script) waits until this write commits.
    """
    query = Claim.select().where(Claim.claim_no == claim_no_key(claim_no))
    if in_write_transaction() and is_postgres():
        query = query.for_update()  # PostgreSQL: the claim row a write changes stays locked
    claim = query.first()
    if claim is None:
        reject_invisible(claim_no.strip(), CLAIM_NO_FIELD)
        raise NotFound(f"求償権番号 {claim_no.strip()} は見つかりません")
    return claim
