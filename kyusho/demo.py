"""A realistic demo database (``kyusho demo``): needs no configuration.

The demo data is generated as the CSV files IT staff would import and goes through the real
import path, so the demo exercises the same validation and projections as production data.
Plans, suspensions and write-offs are then added as staff would add them. Reproducible from
a seed, relative to today so that alerts and due actions are always current.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import date, datetime, timedelta
from pathlib import Path

from kyusho.clock import SYSTEM_CLOCK, Clock, PinnedClock
from kyusho.config import Config
from kyusho.rules.csvparse import header
from kyusho.rules.periods import period_end
from kyusho.services.imports import import_bytes
from kyusho.services.session import Session
from kyusho.services.staff import init_database
from models import audit, pg
from models.db import open_database, write_transaction
from models.schema import Claim, Obligor, Plan, Staff

SURNAMES = [
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
    ("松本", "マツモト"),
    ("井上", "イノウエ"),
    ("木村", "キムラ"),
    ("林", "ハヤシ"),
    ("清水", "シミズ"),
    ("山崎", "ヤマザキ"),
    ("森", "モリ"),
    ("池田", "イケダ"),
    ("橋本", "ハシモト"),
    ("石川", "イシカワ"),
    ("前田", "マエダ"),
    ("藤田", "フジタ"),
    ("岡田", "オカダ"),
    ("後藤", "ゴトウ"),
    ("長谷川", "ハセガワ"),
    ("村上", "ムラカミ"),
    ("近藤", "コンドウ"),
    ("坂本", "サカモト"),
    ("浦川", "ウラカワ"),
    ("松尾", "マツオ"),
    ("永田", "ナガタ"),
    ("野口", "ノグチ"),
    ("平野", "ヒラノ"),
]
GIVEN = [
    ("太郎", "タロウ"),
    ("一郎", "イチロウ"),
    ("健一", "ケンイチ"),
    ("誠", "マコト"),
    ("浩", "ヒロシ"),
    ("花子", "ハナコ"),
    ("恵子", "ケイコ"),
    ("裕子", "ユウコ"),
    ("大輔", "ダイスケ"),
    ("直樹", "ナオキ"),
    ("美香", "ミカ"),
    ("修", "オサム"),
    ("隆", "タカシ"),
    ("明美", "アケミ"),
    ("聡", "サトシ"),
]
BUSINESS = [
    ("さくら精機", "サクラセイキ"),
    ("みなと運輸", "ミナトウンユ"),
    ("ひまわり食品", "ヒマワリショクヒン"),
    ("大黒屋", "ダイコクヤ"),
    ("東和建設", "トウワケンセツ"),
    ("出島商事", "デジマショウジ"),
    ("稲佐工業", "イナサコウギョウ"),
    ("多摩電子", "タマデンシ"),
    ("川崎製作所", "カワサキセイサクショ"),
    ("丸山印刷", "マルヤマインサツ"),
    ("青葉不動産", "アオバフドウサン"),
    ("大浦水産", "オオウラスイサン"),
    ("新宿テック", "シンジュクテック"),
    ("五島物産", "ゴトウブッサン"),
    ("中原鉄工", "ナカハラテッコウ"),
]
FORMS = [
    ("株式会社", "カブシキガイシャ"),
    ("有限会社", "ユウゲンガイシャ"),
    ("合同会社", "ゴウドウガイシャ"),
]
AREAS = {
    "東京都": (
        ["新宿区西新宿", "大田区蒲田", "足立区千住", "八王子市旭町", "江東区亀戸"],
        ["東都銀行", "みらい信用金庫", "武蔵野中央銀行"],
    ),
    "長崎県": (
        ["長崎市大浦町", "佐世保市島瀬町", "諫早市永昌町", "五島市福江町"],
        ["十八親和銀行", "長崎みなと信用金庫", "西海銀行"],
    ),
    "川崎市": (
        ["川崎区砂子", "中原区小杉町", "高津区溝口", "麻生区万福寺"],
        ["川崎みなと銀行", "多摩川信用金庫"],
    ),
}
PROGRAMMES = {
    "東京都": "東京都中小企業制度融資",
    "長崎県": "長崎県経営安定資金",
    "川崎市": "川崎市中小企業融資制度",
}
DEMO_STAFF = [
    ("tanaka", "田中 一郎", "staff"),
    ("suzuki", "鈴木 花子", "staff"),
    ("sato", "佐藤 課長", "manager"),
]


def _csv(names: list[str], rows: list[list[object]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(names)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _person(rng: random.Random) -> tuple[str, str]:
    s, sk = rng.choice(SURNAMES)
    g, gk = rng.choice(GIVEN)
    return f"{s} {g}", f"{sk} {gk}"


def build_demo(
    path: Path | str,
    *,
    claims: int = 300,
    seed: int = 7,
    admin_login: str,
    today: date | None = None,
) -> None:
    """Create a demo database at ``path`` with ``claims`` realistic claims."""
    rng = random.Random(seed)
    clock: Clock = PinnedClock(today) if today else SYSTEM_CLOCK
    today = clock.today()
    init_database(path, admin_login, "デモ管理者", clock=clock)
    url = str(path) if pg.is_url(path) else None
    db = open_database(path, login=admin_login)
    session = Session(
        config=Config(db_path=Path(path)) if url is None else Config(db_url=url),
        db=db,
        db_path=None if url is not None else Path(path),
        db_url=url,
        login=admin_login,
        name="デモ管理者",
        role="admin",
        clock=clock,
    )
    with write_transaction(db):
        for login, name, role in DEMO_STAFF:
            if login != admin_login:
                Staff.create(
                    login=login, name=name, role=role, active=True, created_at=session.now()
                )
                if url is not None:
                    pg.grant_role(db, login, role)
                audit.record(
                    admin_login,
                    "staff.add",
                    "staff",
                    login,
                    after={"login": login, "name": name, "role": role},
                    reason="demo",
                    at=session.now(),
                )
    logins = [admin_login, "tanaka", "suzuki"]

    claim_rows, obligor_rows, receipt_rows, event_rows, contact_rows = [], [], [], [], []
    plans: list[tuple[str, int, date, int, int]] = []
    specials: dict[str, str] = {}
    for n in range(1, claims + 1):
        area = rng.choices(list(AREAS), weights=[6, 3, 2])[0]
        towns, lenders = AREAS[area]
        kind = rng.random()
        # a spread of subrogation dates, with some about five years ago so alerts show
        bankrupt = n % 12 == 6  # 破産手続終結: guarantors left on their own clocks
        if n % 12 == 0 or bankrupt:
            sub = today - timedelta(days=5 * 365 - rng.randint(20, 170))
        else:
            sub = today - timedelta(days=rng.randint(120, 9 * 365))
        era = "R" if sub >= date(2019, 5, 1) else "H"
        year = sub.year - 2018 if era == "R" else sub.year - 1988
        claim_no = f"{era}{year}-{n:06d}"
        contract = sub - timedelta(days=rng.randint(400, 2500))
        loan_p = (
            rng.choice([1, 2, 3, 5, 8, 10, 15, 20, 30, 50]) * 1_000_000
            - rng.randint(0, 40) * 10_000
        )
        loan_i = rng.randint(0, 60) * 1_000 + rng.randint(0, 999)
        rate = "14.0" if contract >= date(2010, 1, 1) else rng.choice(["14.6", "18.25"])
        order = "元金" if rng.random() < 0.1 else "法定"
        munis = area if rng.random() < 0.7 else ""
        insured = rng.random() < 0.6
        cover = rng.choice(["70", "80", "90"]) if insured else ""
        paid_on = (
            sub + timedelta(days=rng.randint(30, 90))
            if insured and sub + timedelta(days=90) < today
            else None
        )
        ins_paid = (loan_p * int(cover or "0") // 100) if paid_on else ""
        claim_rows.append(
            [
                claim_no,
                sub.isoformat(),
                loan_p,
                loan_i,
                rate,
                order,
                contract.isoformat(),
                rng.choice(lenders),
                PROGRAMMES[area] if munis else "",
                "普通保険" if insured else "",
                cover,
                ins_paid,
                paid_on.isoformat() if paid_on else "",
                munis,
                rng.choice(logins),
            ]
        )
        town = rng.choice(towns)
        address = f"{area if area != '川崎市' else '神奈川県川崎市'}{town}{rng.randint(1, 9)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}"
        corporate = kind < 0.65 or bankrupt
        if corporate:
            biz, bizk = rng.choice(BUSINESS)
            form, _ = rng.choice(FORMS)
            name, kana = f"{form}{biz}", bizk
            obligor_rows.append([claim_no, 1, "主債務者", name, kana, "法人", "", "", address, ""])
        else:
            name, kana = _person(rng)
            birth = date(rng.randint(1950, 1990), rng.randint(1, 12), rng.randint(1, 28))
            obligor_rows.append(
                [
                    claim_no,
                    1,
                    "主債務者",
                    name,
                    kana,
                    "個人",
                    rng.choice(["1", "1", "0"]),
                    birth.isoformat(),
                    address,
                    "",
                ]
            )
        guarantors = rng.choice([1, 1, 1, 2, 2, 3]) if corporate else rng.choice([0, 1, 1])
        for g in range(guarantors):
            gname, gkana = _person(rng)
            gbirth = date(rng.randint(1945, 1992), rng.randint(1, 12), rng.randint(1, 28))
            obligor_rows.append(
                [
                    claim_no,
                    g + 2,
                    "連帯保証人",
                    gname,
                    gkana,
                    "個人",
                    "",
                    gbirth.isoformat(),
                    address,
                    "",
                ]
            )
        if rng.random() < 0.08:
            cname, ckana = _person(rng)
            obligor_rows.append(
                [claim_no, guarantors + 2, "物上保証人", cname, ckana, "個人", "", "", address, ""]
            )

        # receipts: most claims a few; some pay monthly for years. Every 12th claim is the
        # classic trap: only a guarantor pays (or nobody does) and the principal debtor's clock
        # nears completion; every 50th has already completed unnoticed.
        principal = loan_p + loan_i
        budget = principal // 3
        payers = list(range(1, guarantors + 2))
        age = (today - sub).days
        trap = n % 12 == 0
        lapsed = n % 50 == 0 and not trap
        if lapsed:
            sub = today - timedelta(days=rng.randint(5 * 365 + 30, 6 * 365))
            claim_rows[-1][1] = sub.isoformat()
            contract = min(contract, sub - timedelta(days=400))
            claim_rows[-1][6] = contract.isoformat()
            claim_rows[-1][12] = ""
            claim_rows[-1][11] = ""
            age = (today - sub).days
        if trap and guarantors:
            payer = rng.choice(payers[1:])
            amount = max(10_000, (principal // 300) // 1000 * 1000)
            start = sub + timedelta(days=rng.randint(60, 200))
            k = 0
            d = start
            while d <= today - timedelta(days=5) and budget > amount and k < 80:
                receipt_rows.append(
                    [claim_no, d.isoformat(), amount, payer, "口座振替", f"D{n}-{k}"]
                )
                budget -= amount
                k += 1
                d = period_end(start, months=k) + timedelta(days=1) - timedelta(days=1)
            plans.append((claim_no, payer, start, amount, start.day))
        elif not trap and not lapsed and not bankrupt and rng.random() < 0.7:
            monthly = rng.random() < 0.45
            payer = rng.choice(payers) if guarantors else 1
            if monthly:
                amount = max(10_000, (principal // 200) // 1000 * 1000)
                start = sub + timedelta(days=rng.randint(40, 200))
                k = 0
                d = start
                stop = today - timedelta(days=rng.choice([0, 0, 0, 45, 90]))
                while d <= stop and budget > amount and k < 120:
                    receipt_rows.append(
                        [
                            claim_no,
                            d.isoformat(),
                            amount,
                            payer,
                            rng.choice(["振込", "口座振替"]),
                            f"D{n}-{k}",
                        ]
                    )
                    budget -= amount
                    k += 1
                    d = period_end(start, months=k) + timedelta(days=1) - timedelta(days=1)
                if k > 6:
                    plans.append((claim_no, payer, start, amount, start.day))
            else:
                for k in range(rng.randint(1, 4)):
                    d = sub + timedelta(days=rng.randint(30, max(31, age - 1)))
                    amount = min(
                        budget // 4, rng.choice([50_000, 100_000, 200_000, 300_000, 500_000])
                    )
                    if amount >= 1000:
                        receipt_rows.append(
                            [
                                claim_no,
                                d.isoformat(),
                                amount,
                                rng.choice(payers),
                                rng.choice(["振込", "現金", "担保処分", "配当"]),
                                f"S{n}-{k}",
                            ]
                        )
                        budget -= amount
        # limitation events: older claims were renewed by judgment or acknowledgement
        r = rng.random()
        if bankrupt:
            d = sub + timedelta(days=rng.randint(150, 400))
            event_rows.append([claim_no, 1, "法人格消滅", d.isoformat(), "", f"E{n}-1"])
        elif not trap and not lapsed and age > 4 * 365:
            if r < 0.7:
                filed = sub + timedelta(days=rng.randint(300, min(age - 200, 4 * 365)))
                event_rows.append(
                    [
                        claim_no,
                        1,
                        rng.choice(["訴え提起", "支払督促申立"]),
                        filed.isoformat(),
                        "",
                        f"E{n}-1",
                    ]
                )
                event_rows.append(
                    [
                        claim_no,
                        1,
                        "判決確定",
                        (filed + timedelta(days=rng.randint(90, 180))).isoformat(),
                        "",
                        f"E{n}-2",
                    ]
                )
            else:
                # 債務承認書 taken before each five-year period runs out
                d, k = sub, 1
                while (today - d).days > 4 * 365:
                    d = d + timedelta(days=4 * 365 - rng.randint(0, 300))
                    event_rows.append([claim_no, 1, "承認", d.isoformat(), "", f"E{n}-{k}"])
                    k += 1
        elif not trap and not lapsed:
            if r < 0.12 and age > 400:
                d = sub + timedelta(days=rng.randint(200, age - 1))
                event_rows.append(
                    [claim_no, rng.choice(payers), "催告", d.isoformat(), "", f"E{n}-1"]
                )
            elif r < 0.17 and not corporate and age > 300:
                d = sub + timedelta(days=rng.randint(100, age - 1))
                event_rows.append([claim_no, 1, "免責確定", d.isoformat(), "", f"E{n}-1"])
            elif r < 0.21 and corporate and age > 300:
                d = sub + timedelta(days=rng.randint(100, age - 1))
                event_rows.append([claim_no, 1, "法人格消滅", d.isoformat(), "", f"E{n}-1"])
        # contacts
        for k in range(rng.randint(0, 3)):
            at = datetime.combine(
                today - timedelta(days=rng.randint(1, 400)), datetime.min.time()
            ).replace(hour=rng.randint(9, 17), minute=rng.choice([0, 15, 30, 45]))
            promise = rng.random() < 0.3
            nxt = rng.random() < 0.5
            contact_rows.append(
                [
                    claim_no,
                    rng.choice(payers),
                    at.strftime("%Y-%m-%d %H:%M"),
                    rng.choice(logins),
                    rng.choice(["電話", "面談", "文書", "訪問"]),
                    rng.choice(
                        ["本人と話せた", "不在", "入金を約束", "生活状況を聴取", "所在調査中"]
                    ),
                    "デモの交渉記録",
                    rng.choice([30_000, 50_000, 100_000]) if promise else "",
                    (at.date() + timedelta(days=14)).isoformat() if promise else "",
                    rng.choice(["再架電", "督促状送付", "訪問", "資力調査"]) if nxt else "",
                    (today + timedelta(days=rng.randint(-10, 20))).isoformat() if nxt else "",
                    f"C{n}-{k}",
                ]
            )
        if trap or lapsed:
            pass
        elif n % 25 == 5:
            specials[claim_no] = "suspended"
        elif n % 40 == 17:
            specials[claim_no] = "written_off"

    with_rows = [
        ("claims", claim_rows),
        ("obligors", obligor_rows),
        ("receipts", receipt_rows),
        ("events", event_rows),
        ("contacts", contact_rows),
    ]
    for kind, rows in with_rows:
        import_bytes(session, kind, _csv(header(kind), rows), name=f"demo-{kind}.csv")

    with write_transaction(db):
        for claim_no, payer_no, start, amount, day in plans:
            claim = Claim.get(Claim.claim_no == claim_no)
            ob = Obligor.get((Obligor.claim == claim.id) & (Obligor.obligor_no == payer_no))
            plan = Plan.create(
                claim=claim,
                obligor=ob,
                first_month=start.replace(day=1),
                last_month=None,
                monthly_amount=amount,
                due_day=min(day, 31),
                status="active",
                created_by=admin_login,
                created_at=session.now(),
            )
            audit.record(
                admin_login,
                "plan.add",
                "claim",
                claim.id,
                after={"plan_id": plan.id, "monthly_amount": amount},
                reason="demo",
                at=session.now(),
            )
        for claim_no, status in specials.items():
            claim = Claim.get(Claim.claim_no == claim_no)
            before = {"status": claim.status}
            since = today - timedelta(days=rng.randint(30, 700))
            since = max(since, claim.last_entry_on)
            values = {"status": status, "status_since": since}
            if status == "suspended":
                values["review_on"] = period_end(since, months=12)
            else:
                values["written_off_on"] = since
                from kyusho.services.projections import balance_from_projection

                values["written_off_amount"] = balance_from_projection(claim, since).total
            Claim.update(**values).where(Claim.id == claim.id).execute()
            audit.record(
                admin_login,
                "claim.status",
                "claim",
                claim.id,
                before=before,
                after=values,
                reason="demo",
                at=session.now(),
            )
