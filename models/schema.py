"""peewee models for every entity of SPEC 3.

Entries and events are the facts; the columns marked "projection" are recomputed from them
(`kyusho rebuild` recomputes them all and must find nothing to change). Money is int yen,
rates are decimal strings.

A foreign key that leads a composite index (``claim`` of the ledger, obligors, events,
contacts and municipalities; ``staff`` of claims) has ``index=False``: the composite index
serves its lookups, and one index less is one less B-tree to write for each of the millions
of rows an import adds (schema 8 dropped them).
"""

from __future__ import annotations

from peewee import (
    SQL,
    AutoField,
    BooleanField,
    CharField,
    CompositeKey,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from models.db import database


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class Meta_(BaseModel):
    """Key/value facts about the database itself (schema version, creation)."""

    key = CharField(primary_key=True)
    value = TextField()

    class Meta:
        table_name = "meta"


class Staff(BaseModel):
    id = AutoField()
    login = CharField(unique=True)
    name = CharField()
    role = CharField()  # staff | manager | admin
    active = BooleanField(default=True)
    created_at = DateTimeField()


class Claim(BaseModel):
    id = AutoField()
    claim_no = CharField(unique=True)
    subrogation_date = DateField()
    loan_principal = IntegerField()
    loan_interest = IntegerField()
    damages_rate = CharField()  # percent per year, decimal string
    allocation_order = CharField(default="statutory")
    contract_date = DateField()
    lender = CharField()
    programme = CharField(null=True)
    insurance_type = CharField(null=True)
    cover_ratio = CharField(null=True)  # percent, decimal string
    insurance_paid = IntegerField(null=True)
    insurance_paid_on = DateField(null=True)
    servicer = CharField(null=True)
    staff = ForeignKeyField(Staff, null=True, backref="claims", on_delete="RESTRICT", index=False)
    staff_id: int | None  # the key column, as peewee exposes it (for type checkers)
    status = CharField(default="active", index=True)
    status_since = DateField(null=True)
    written_off_on = DateField(null=True)
    written_off_amount = IntegerField(null=True)
    review_on = DateField(null=True, index=True)
    note = TextField(default="")
    # optimistic concurrency: bumped by every edit of the claim's own fields
    version = IntegerField(default=1)
    updated_at = DateTimeField()
    updated_by = CharField()
    # projections (ledger): outstanding after the last entry, damages accrued to it
    principal_outstanding = IntegerField()
    costs_outstanding = IntegerField(default=0)
    damages_at_last = IntegerField(default=0)
    last_entry_on = DateField()
    last_receipt_on = DateField(null=True)
    # projection (search/sort): the principal debtor's name and keys
    debtor_name = CharField(default="")
    debtor_kana = CharField(default="")

    class Meta:
        # the claim list pages through these orders with LIMIT/OFFSET: each needs an index
        indexes = (
            (("staff", "status", "claim_no"), False),
            (("debtor_kana", "id"), False),
            (("subrogation_date", "id"), False),
            (("principal_outstanding", "id"), False),
        )


class ClaimMunicipality(BaseModel):
    """A municipality with a loss-compensation contract (損失補償団体) on the claim."""

    id = AutoField()
    claim = ForeignKeyField(Claim, backref="municipalities", on_delete="CASCADE", index=False)
    claim_id: int  # the key column, as peewee exposes it (for type checkers)
    name = CharField(index=True)
    # loss-compensation facts (SPEC 4.12): ratio (percent, decimal string) or the 損失補償金
    # received, and the 回収納付金 paid back; None: not known yet
    ratio = CharField(null=True)
    compensated_amount = IntegerField(null=True)
    # a database default too: bulk loaders insert links naming only claim and name
    remittances_paid = IntegerField(default=0, constraints=[SQL("DEFAULT 0")])

    class Meta:
        indexes = ((("claim", "name"), True),)


class Municipality(BaseModel):
    """A municipality added by an admin beyond reference/ordinances.toml (cities, towns)."""

    id = AutoField()
    name = CharField(unique=True)
    status = CharField()  # enacted | not_required | not_enacted
    covers_closure = BooleanField(default=False)
    note = TextField(default="")
    created_by = CharField()
    created_at = DateTimeField()


class WaiverCase(BaseModel):
    """One 求償権放棄 (or 不等価譲渡) being prepared with the municipalities of a claim."""

    id = AutoField()
    claim = ForeignKeyField(Claim, backref="waiver_cases", on_delete="CASCADE")
    claim_id: int  # the key column, as peewee exposes it (for type checkers)
    scheme = CharField()  # reference/waiver_checklist.toml [[scheme]] key
    kind = CharField()  # waiver | transfer
    transfer_price = IntegerField(null=True)
    planned_date = DateField()
    status = CharField(default="open", index=True)  # open | closed
    created_by = CharField()
    created_at = DateTimeField()


class WaiverStep(BaseModel):
    """One step of one municipality's procedure (事前協議 … 報告済), with who recorded it."""

    id = AutoField()
    case = ForeignKeyField(WaiverCase, backref="steps", on_delete="CASCADE")
    case_id: int  # the key column, as peewee exposes it (for type checkers)
    municipality = CharField()
    step = CharField()
    on = DateField()
    recorded_by = CharField()
    recorded_at = DateTimeField()

    class Meta:
        indexes = ((("case", "municipality", "id"), False),)


class Obligor(BaseModel):
    id = AutoField()
    claim = ForeignKeyField(Claim, backref="obligors", on_delete="CASCADE", index=False)
    claim_id: int  # the key column, as peewee exposes it (for type checkers)
    obligor_no = IntegerField()  # 関係人番号; 1 is the principal debtor
    role = CharField()
    kind = CharField()  # corporation | person
    name = CharField()
    kana = CharField(default="")
    # normalised for prefix search; indexed with the claim (Meta) so a search reads no rows
    name_key = CharField()
    kana_key = CharField()
    merchant = BooleanField(null=True)
    birth_date = DateField(null=True)
    address = TextField(default="")
    state = CharField(default="normal")
    liable = BooleanField(default=True)
    released_on = DateField(null=True)
    # projections (limitation clock)
    own_completes_on = DateField(null=True)
    completes_on = DateField(null=True, index=True)
    lim_state = CharField(null=True)
    lim_basis = CharField(null=True)
    lim_basis_date = DateField(null=True)
    lim_basis_event = IntegerField(null=True)
    lim_period_years = IntegerField(null=True)
    lim_via_principal = BooleanField(default=False)

    class Meta:
        indexes = (
            (("claim", "obligor_no"), True),
            (("name_key", "claim"), False),
            (("kana_key", "claim"), False),
        )


class LedgerEntry(BaseModel):
    """A receipt, cost or damages waiver. Never deleted: a cancellation marks it."""

    id = AutoField()  # also the recording order for same-day entries
    claim = ForeignKeyField(Claim, backref="entries", on_delete="CASCADE", index=False)
    claim_id: int  # the key column, as peewee exposes it (for type checkers)
    kind = CharField()  # receipt | cost | damages_waiver
    date = DateField()
    amount = IntegerField()
    payer = ForeignKeyField(Obligor, null=True, backref="receipts", on_delete="RESTRICT")
    payer_id: int | None  # the key column, as peewee exposes it (for type checkers)
    method = CharField(null=True)
    servicer = BooleanField(default=False)
    cost_kind = CharField(null=True)
    ref = CharField(null=True)
    note = TextField(default="")
    decision_id = IntegerField(null=True)
    post_write_off = BooleanField(default=False)  # 償却後回収
    cancelled = BooleanField(default=False)
    cancel_reason = TextField(null=True)
    cancelled_by = CharField(null=True)
    cancelled_at = DateTimeField(null=True)
    created_by = CharField()
    created_at = DateTimeField()
    # projections (allocation of a receipt)
    alloc_costs = IntegerField(default=0)
    alloc_damages = IntegerField(default=0)
    alloc_principal = IntegerField(default=0)

    class Meta:
        indexes = (
            (("claim", "date", "id"), False),
            (("claim", "ref"), False),
            (("date", "kind"), False),
        )


# servicer receipts (the 年度 report's own item) are few among millions: a partial index on
# them, the same DDL on SQLite and PostgreSQL
SERVICER_INDEX = (
    'CREATE INDEX IF NOT EXISTS "ledger_entry_servicer_date" ON "ledger_entry" ("date")'
    ' WHERE "servicer"'
)
LedgerEntry.add_index(SQL(SERVICER_INDEX))


MONTH_COLUMNS = tuple(f"m{i:02d}" for i in range(1, 13))  # April .. March
# ClaimYear's figures in the order of kyusho.year_end.YearRow.as_tuple()
CLAIM_YEAR_FIGURES = (
    "fy",
    "principal_end",
    "receipts",
    "received",
    "received_after_write_off",
    *MONTH_COLUMNS,
)


class ClaimYear(BaseModel):
    """Projection: one claim's figures for one 年度 (kyusho.year_end), for the 年度 report.

    Rows are clustered by year (WITHOUT ROWID, key (fy, claim)), so a year's rows are one
    contiguous range: the report reads them without touching the ledger.
    """

    fy = IntegerField()
    claim = ForeignKeyField(Claim, backref="years", on_delete="CASCADE", index=True)
    claim_id: int  # the key column, as peewee exposes it (for type checkers)
    principal_end = IntegerField()
    receipts = IntegerField(default=0)
    received = IntegerField(default=0)
    received_after_write_off = IntegerField(default=0)
    m01 = IntegerField(default=0)
    m02 = IntegerField(default=0)
    m03 = IntegerField(default=0)
    m04 = IntegerField(default=0)
    m05 = IntegerField(default=0)
    m06 = IntegerField(default=0)
    m07 = IntegerField(default=0)
    m08 = IntegerField(default=0)
    m09 = IntegerField(default=0)
    m10 = IntegerField(default=0)
    m11 = IntegerField(default=0)
    m12 = IntegerField(default=0)

    class Meta:
        primary_key = CompositeKey("fy", "claim")
        without_rowid = True


class Plan(BaseModel):
    """分割弁済約定 of one obligor. Superseded plans are kept."""

    id = AutoField()
    claim = ForeignKeyField(Claim, backref="plans", on_delete="CASCADE")
    claim_id: int  # the key column, as peewee exposes it (for type checkers)
    obligor = ForeignKeyField(Obligor, backref="plans", on_delete="RESTRICT")
    obligor_id: int  # the key column, as peewee exposes it (for type checkers)
    first_month = DateField()
    last_month = DateField(null=True)
    monthly_amount = IntegerField()
    due_day = IntegerField()
    status = CharField(default="active", index=True)  # active | superseded | completed | cancelled
    superseded_by = IntegerField(null=True)
    note = TextField(default="")
    created_by = CharField()
    created_at = DateTimeField()


class LimitationEvent(BaseModel):
    id = AutoField()
    claim = ForeignKeyField(Claim, backref="events", on_delete="CASCADE", index=False)
    claim_id: int  # the key column, as peewee exposes it (for type checkers)
    obligor = ForeignKeyField(Obligor, backref="events", on_delete="RESTRICT")
    obligor_id: int  # the key column, as peewee exposes it (for type checkers)
    kind = CharField()
    date = DateField()
    until = DateField(null=True)
    ref = CharField(null=True)
    note = TextField(default="")
    cancelled = BooleanField(default=False)
    cancel_reason = TextField(null=True)
    # the obligor's state before a discharge/extinction event set it (restored on cancel)
    prev_state = CharField(null=True)
    created_by = CharField()
    created_at = DateTimeField()

    class Meta:
        indexes = ((("claim", "ref"), False),)


class Contact(BaseModel):
    id = AutoField()
    claim = ForeignKeyField(Claim, backref="contacts", on_delete="CASCADE", index=False)
    claim_id: int  # the key column, as peewee exposes it (for type checkers)
    obligor = ForeignKeyField(Obligor, null=True, backref="contacts", on_delete="RESTRICT")
    obligor_id: int | None  # the key column, as peewee exposes it (for type checkers)
    at = DateTimeField()
    staff = CharField()  # login
    channel = CharField()
    outcome = CharField(default="")
    note = TextField(default="")
    promised_amount = IntegerField(null=True)
    promised_on = DateField(null=True, index=True)
    next_action = CharField(null=True)
    next_on = DateField(null=True, index=True)
    # projection: the next action is done (a later contact with that obligor, or marked done)
    next_done = BooleanField(default=False)
    # who marked the next action done by hand, and when (None: not marked; SPEC 4.7)
    next_done_at = DateTimeField(null=True)
    next_done_by = CharField(null=True)
    ref = CharField(null=True)
    # 取消: never a deletion; a cancelled contact counts for nothing (promises, next actions)
    cancelled = BooleanField(default=False)
    cancelled_at = DateTimeField(null=True)
    cancelled_by = CharField(null=True)
    cancel_reason = TextField(null=True)
    created_by = CharField()
    created_at = DateTimeField()

    class Meta:
        indexes = ((("claim", "ref"), False),)


class Decision(BaseModel):
    """起案・決裁. Facts are frozen (JSON) at proposal; an approved decision is immutable."""

    id = AutoField()
    claim = ForeignKeyField(Claim, backref="decisions", on_delete="CASCADE")
    claim_id: int  # the key column, as peewee exposes it (for type checkers)
    kind = CharField()
    obligor = ForeignKeyField(Obligor, null=True, backref="decisions", on_delete="RESTRICT")
    obligor_id: int | None  # the key column, as peewee exposes it (for type checkers)
    status = CharField(default="draft", index=True)  # draft|proposed|approved|rejected|withdrawn
    data = TextField(default="{}")
    checks = TextField(default="{}")
    proposer = CharField()
    proposed_at = DateTimeField(null=True)
    approver = CharField(null=True)
    decided_at = DateTimeField(null=True)
    reason = TextField(default="")
    override_reason = TextField(null=True)
    effect = TextField(default="{}")
    created_at = DateTimeField()


class ChecklistAnswer(BaseModel):
    """An attested item of a decision (municipality ""), or an item of a waiver case's
    municipal walk-through (``case`` set, ``decision`` None)."""

    id = AutoField()
    decision = ForeignKeyField(Decision, null=True, backref="answers", on_delete="CASCADE")
    decision_id: int | None  # the key column, as peewee exposes it (for type checkers)
    case = ForeignKeyField(WaiverCase, null=True, backref="answers", on_delete="CASCADE")
    case_id: int | None  # the key column, as peewee exposes it (for type checkers)
    municipality = CharField()
    template = CharField()
    item_key = CharField()
    status = CharField(null=True)  # 充足 | 不充足 | 該当なし
    finding = TextField(default="")
    evidence = TextField(default="")
    answered_by = CharField(null=True)
    answered_at = DateTimeField(null=True)

    class Meta:
        indexes = (
            (("decision", "municipality", "item_key"), True),
            (("case", "municipality", "item_key"), True),
        )


class AuditEvent(BaseModel):
    """Append-only, hash-chained record of every write (SPEC 6.2)."""

    seq = AutoField()
    at = CharField()  # ISO timestamp with offset
    login = CharField()
    action = CharField()
    entity = CharField()
    entity_id = CharField()
    reason = TextField(null=True)
    before = TextField(null=True)
    after = TextField(null=True)
    prev_hash = CharField()
    hash = CharField()

    class Meta:
        indexes = ((("entity", "entity_id", "seq"), False),)


ALL_MODELS: tuple[type[BaseModel], ...] = (
    Meta_,
    Staff,
    Claim,
    ClaimMunicipality,
    Obligor,
    LedgerEntry,
    ClaimYear,
    Plan,
    LimitationEvent,
    Contact,
    Decision,
    Municipality,
    WaiverCase,
    WaiverStep,
    ChecklistAnswer,
    AuditEvent,
)
