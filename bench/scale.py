"""The scale-L data set of SPEC 6.3, generated reproducibly from a seed (``python -m bench``).

A large 協会's portfolio as the five import files of SPEC 5.4, written as CSV exactly as IT
staff would receive them from the core system, so the benchmark measures the real import path
with every validation. At ``claims=200_000`` the counts are those of scale L: 400,000
obligors, 2,000,000 receipts, 200,000 limitation events and 500,000 contacts; other sizes keep
the same proportions (each count is exact, not just on average).

The distributions follow a real portfolio: most claims have a few receipts, about a quarter
are paid monthly for years and a few hundred claims have hundreds of receipts; corporate
debtors have one to three joint guarantors; names are Japanese with their kana, drawn with
realistic surname frequencies; events and contacts are spread over the years since
subrogation. Dates are relative to ``today`` so alerts and due actions are current. The same
``(claims, seed, today)`` always gives the same bytes.

Every ``1000``th claim (and one in the middle of small sets) is a *reference claim* with
exactly 4 obligors and 50 receipts: the benchmark opens and posts to these.
"""

from __future__ import annotations

import bisect
import csv
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from kyusho.clock import SYSTEM_CLOCK
from kyusho.rules.csvparse import header

# Per claim at scale L (SPEC 6.3): 400k obligors, 2M receipts, 200k events, 500k contacts.
OBLIGORS_PER_CLAIM = 2.0
RECEIPTS_PER_CLAIM = 10.0
EVENTS_PER_CLAIM = 1.0
CONTACTS_PER_CLAIM = 2.5

REFERENCE_OBLIGORS = 4
REFERENCE_RECEIPTS = 50

FILES = ("claims", "obligors", "receipts", "events", "contacts")


# Surnames with rough relative frequencies (per 10,000 people), so that a search for 佐藤 hits
# about as many obligors as it would in a real 協会.
SURNAMES: list[tuple[str, str, int]] = [
    ("佐藤", "サトウ", 150),
    ("鈴木", "スズキ", 140),
    ("高橋", "タカハシ", 114),
    ("田中", "タナカ", 107),
    ("伊藤", "イトウ", 87),
    ("渡辺", "ワタナベ", 85),
    ("山本", "ヤマモト", 85),
    ("中村", "ナカムラ", 84),
    ("小林", "コバヤシ", 82),
    ("加藤", "カトウ", 71),
    ("吉田", "ヨシダ", 67),
    ("山田", "ヤマダ", 65),
    ("佐々木", "ササキ", 54),
    ("山口", "ヤマグチ", 52),
    ("松本", "マツモト", 50),
    ("井上", "イノウエ", 49),
    ("木村", "キムラ", 46),
    ("林", "ハヤシ", 43),
    ("斎藤", "サイトウ", 43),
    ("清水", "シミズ", 42),
    ("山崎", "ヤマザキ", 39),
    ("森", "モリ", 37),
    ("池田", "イケダ", 35),
    ("橋本", "ハシモト", 35),
    ("阿部", "アベ", 35),
    ("石川", "イシカワ", 34),
    ("山下", "ヤマシタ", 33),
    ("中島", "ナカジマ", 31),
    ("石井", "イシイ", 31),
    ("小川", "オガワ", 30),
    ("前田", "マエダ", 30),
    ("岡田", "オカダ", 30),
    ("長谷川", "ハセガワ", 29),
    ("藤田", "フジタ", 29),
    ("後藤", "ゴトウ", 28),
    ("近藤", "コンドウ", 28),
    ("村上", "ムラカミ", 27),
    ("遠藤", "エンドウ", 26),
    ("青木", "アオキ", 26),
    ("坂本", "サカモト", 26),
    ("斉藤", "サイトウ", 25),
    ("福田", "フクダ", 25),
    ("太田", "オオタ", 25),
    ("西村", "ニシムラ", 24),
    ("藤井", "フジイ", 24),
    ("金子", "カネコ", 24),
    ("岡本", "オカモト", 24),
    ("藤原", "フジワラ", 24),
    ("中野", "ナカノ", 23),
    ("三浦", "ミウラ", 23),
    ("原田", "ハラダ", 23),
    ("中川", "ナカガワ", 23),
    ("松田", "マツダ", 23),
    ("竹内", "タケウチ", 22),
    ("小野", "オノ", 22),
    ("田村", "タムラ", 22),
    ("中山", "ナカヤマ", 21),
    ("和田", "ワダ", 21),
    ("石田", "イシダ", 21),
    ("森田", "モリタ", 21),
    ("上田", "ウエダ", 20),
    ("原", "ハラ", 20),
    ("内田", "ウチダ", 20),
    ("柴田", "シバタ", 20),
    ("酒井", "サカイ", 20),
    ("宮崎", "ミヤザキ", 19),
    ("横山", "ヨコヤマ", 19),
    ("高木", "タカギ", 19),
    ("安藤", "アンドウ", 19),
    ("宮本", "ミヤモト", 18),
    ("大野", "オオノ", 18),
    ("小島", "コジマ", 18),
    ("谷口", "タニグチ", 18),
    ("今井", "イマイ", 18),
    ("工藤", "クドウ", 18),
    ("高田", "タカダ", 17),
    ("増田", "マスダ", 17),
    ("丸山", "マルヤマ", 17),
    ("杉山", "スギヤマ", 17),
    ("村田", "ムラタ", 17),
    ("大塚", "オオツカ", 17),
    ("新井", "アライ", 16),
    ("小山", "コヤマ", 16),
    ("平野", "ヒラノ", 16),
    ("藤本", "フジモト", 16),
    ("河野", "コウノ", 16),
    ("上野", "ウエノ", 16),
    ("野口", "ノグチ", 16),
    ("武田", "タケダ", 15),
    ("松井", "マツイ", 15),
    ("千葉", "チバ", 15),
    ("岩崎", "イワサキ", 15),
    ("菅原", "スガワラ", 15),
    ("木下", "キノシタ", 15),
    ("久保", "クボ", 15),
    ("佐野", "サノ", 15),
    ("野村", "ノムラ", 15),
    ("松尾", "マツオ", 15),
    ("市川", "イチカワ", 15),
    ("菊地", "キクチ", 14),
    ("杉本", "スギモト", 14),
    ("古川", "フルカワ", 14),
    ("大西", "オオニシ", 14),
    ("島田", "シマダ", 14),
    ("水野", "ミズノ", 14),
    ("桜井", "サクライ", 14),
    ("高野", "タカノ", 14),
    ("渡部", "ワタナベ", 14),
    ("吉川", "ヨシカワ", 13),
    ("山内", "ヤマウチ", 13),
    ("西田", "ニシダ", 13),
    ("飯田", "イイダ", 13),
    ("菊池", "キクチ", 13),
    ("西川", "ニシカワ", 13),
    ("小松", "コマツ", 13),
    ("北村", "キタムラ", 13),
    ("安田", "ヤスダ", 13),
    ("五十嵐", "イガラシ", 13),
    ("川口", "カワグチ", 13),
    ("平田", "ヒラタ", 12),
    ("関", "セキ", 12),
    ("中田", "ナカタ", 12),
    ("久保田", "クボタ", 12),
    ("服部", "ハットリ", 12),
    ("東", "ヒガシ", 12),
    ("岩田", "イワタ", 12),
    ("土屋", "ツチヤ", 12),
    ("川崎", "カワサキ", 12),
    ("福島", "フクシマ", 12),
    ("本田", "ホンダ", 12),
    ("辻", "ツジ", 11),
    ("樋口", "ヒグチ", 11),
    ("秋山", "アキヤマ", 11),
    ("田口", "タグチ", 11),
    ("永井", "ナガイ", 11),
    ("山中", "ヤマナカ", 11),
    ("中西", "ナカニシ", 11),
    ("吉村", "ヨシムラ", 11),
    ("川上", "カワカミ", 11),
    ("石原", "イシハラ", 11),
    ("大橋", "オオハシ", 11),
    ("松岡", "マツオカ", 11),
    ("馬場", "ババ", 11),
    ("浜田", "ハマダ", 11),
    ("森本", "モリモト", 11),
    ("星野", "ホシノ", 10),
    ("矢野", "ヤノ", 10),
    ("浅野", "アサノ", 10),
    ("大久保", "オオクボ", 10),
    ("松下", "マツシタ", 10),
    ("吉井", "ヨシイ", 10),
    ("浦川", "ウラカワ", 5),
    ("髙橋", "タカハシ", 5),
    ("齋藤", "サイトウ", 5),
]
GIVEN_MALE: list[tuple[str, str]] = [
    ("太郎", "タロウ"),
    ("一郎", "イチロウ"),
    ("健一", "ケンイチ"),
    ("誠", "マコト"),
    ("浩", "ヒロシ"),
    ("大輔", "ダイスケ"),
    ("直樹", "ナオキ"),
    ("修", "オサム"),
    ("隆", "タカシ"),
    ("聡", "サトシ"),
    ("博之", "ヒロユキ"),
    ("和也", "カズヤ"),
    ("正人", "マサト"),
    ("勝", "マサル"),
    ("茂", "シゲル"),
    ("清", "キヨシ"),
    ("哲也", "テツヤ"),
    ("健太", "ケンタ"),
    ("拓也", "タクヤ"),
    ("翔太", "ショウタ"),
    ("亮", "リョウ"),
    ("剛", "ツヨシ"),
    ("昭夫", "アキオ"),
    ("信夫", "ノブオ"),
    ("光男", "ミツオ"),
    ("秀樹", "ヒデキ"),
    ("裕介", "ユウスケ"),
    ("達也", "タツヤ"),
    ("英明", "ヒデアキ"),
    ("康弘", "ヤスヒロ"),
]
GIVEN_FEMALE: list[tuple[str, str]] = [
    ("花子", "ハナコ"),
    ("恵子", "ケイコ"),
    ("裕子", "ユウコ"),
    ("美香", "ミカ"),
    ("明美", "アケミ"),
    ("洋子", "ヨウコ"),
    ("幸子", "サチコ"),
    ("久美子", "クミコ"),
    ("由美", "ユミ"),
    ("真由美", "マユミ"),
    ("直美", "ナオミ"),
    ("智子", "トモコ"),
    ("陽子", "ヨウコ"),
    ("京子", "キョウコ"),
    ("さくら", "サクラ"),
    ("美咲", "ミサキ"),
    ("愛", "アイ"),
    ("千尋", "チヒロ"),
]
BUSINESS_STEMS: list[tuple[str, str]] = [
    ("さくら", "サクラ"),
    ("みなと", "ミナト"),
    ("ひまわり", "ヒマワリ"),
    ("大黒", "ダイコク"),
    ("東和", "トウワ"),
    ("城南", "ジョウナン"),
    ("城北", "ジョウホク"),
    ("多摩", "タマ"),
    ("武蔵", "ムサシ"),
    ("丸山", "マルヤマ"),
    ("青葉", "アオバ"),
    ("隅田", "スミダ"),
    ("新宿", "シンジュク"),
    ("品川", "シナガワ"),
    ("中央", "チュウオウ"),
    ("日本橋", "ニホンバシ"),
    ("浅草", "アサクサ"),
    ("蒲田", "カマタ"),
    ("大森", "オオモリ"),
    ("亀戸", "カメイド"),
    ("葛西", "カサイ"),
    ("千住", "センジュ"),
    ("王子", "オウジ"),
    ("板橋", "イタバシ"),
    ("練馬", "ネリマ"),
    ("吉祥", "キッショウ"),
    ("三鷹", "ミタカ"),
    ("八王子", "ハチオウジ"),
    ("立川", "タチカワ"),
    ("富士", "フジ"),
    ("光", "ヒカリ"),
    ("旭", "アサヒ"),
    ("明星", "ミョウジョウ"),
    ("太平", "タイヘイ"),
    ("共栄", "キョウエイ"),
    ("協和", "キョウワ"),
    ("昭和", "ショウワ"),
    ("大和", "ヤマト"),
    ("エース", "エース"),
    ("サンライズ", "サンライズ"),
]
BUSINESS_TRADES: list[tuple[str, str]] = [
    ("精機", "セイキ"),
    ("運輸", "ウンユ"),
    ("食品", "ショクヒン"),
    ("建設", "ケンセツ"),
    ("商事", "ショウジ"),
    ("工業", "コウギョウ"),
    ("電子", "デンシ"),
    ("製作所", "セイサクショ"),
    ("印刷", "インサツ"),
    ("不動産", "フドウサン"),
    ("水産", "スイサン"),
    ("物産", "ブッサン"),
    ("鉄工", "テッコウ"),
    ("工務店", "コウムテン"),
    ("設備", "セツビ"),
    ("電機", "デンキ"),
    ("塗装", "トソウ"),
    ("金属", "キンゾク"),
    ("化成", "カセイ"),
    ("サービス", "サービス"),
    ("システム", "システム"),
    ("企画", "キカク"),
    ("産業", "サンギョウ"),
    ("興業", "コウギョウ"),
    ("商会", "ショウカイ"),
    ("飲食", "インショク"),
    ("観光", "カンコウ"),
    ("自動車", "ジドウシャ"),
]
FORMS: list[tuple[str, str, int]] = [
    ("株式会社", "カ)", 70),
    ("有限会社", "ユ)", 25),
    ("合同会社", "ド)", 5),
]
TOWNS: list[str] = [
    "新宿区西新宿",
    "新宿区高田馬場",
    "大田区蒲田",
    "大田区大森北",
    "足立区千住",
    "足立区西新井",
    "葛飾区亀有",
    "江東区亀戸",
    "江戸川区葛西",
    "墨田区錦糸",
    "台東区浅草",
    "品川区大井",
    "板橋区大山町",
    "練馬区豊玉北",
    "北区王子",
    "世田谷区三軒茶屋",
    "杉並区高円寺南",
    "中野区中野",
    "豊島区池袋",
    "八王子市旭町",
    "立川市曙町",
    "武蔵野市吉祥寺本町",
    "三鷹市下連雀",
    "府中市宮町",
    "町田市原町田",
]
LENDERS: list[tuple[str, int]] = [
    ("東都銀行", 20),
    ("武蔵野中央銀行", 12),
    ("みらい信用金庫", 15),
    ("城南信用組合", 8),
    ("多摩中央信用金庫", 12),
    ("江戸川信用金庫", 8),
    ("さくら商工信用組合", 5),
    ("首都中央銀行", 10),
    ("東京ひかり銀行", 10),
]
PROGRAMMES = [
    "東京都中小企業制度融資",
    "東京都経営支援融資",
    "東京都創業融資",
    "東京都小規模企業融資",
]
STAFF_COUNT_MAX = 60
CLAIMS_PER_STAFF = 4000

OUTCOMES = [
    "本人と話せた",
    "不在",
    "入金を約束",
    "生活状況を聴取",
    "所在調査中",
    "家族と話せた",
    "返済相談",
    "督促状を送付",
    "留守番電話",
    "勤務先に照会",
]
NOTES = [
    "",
    "来月から月額の増額を検討するとのこと",
    "体調不良のため来週再連絡",
    "事業は廃止済み。年金収入のみ",
    "保証人に状況を説明した",
    "分割弁済の継続を確認",
    "転居先不明。住民票を請求",
    "弁護士に相談中とのこと",
    "ボーナス時に一部入金の意向",
    "不動産の任意売却を打診",
]
NEXT_ACTIONS = ["再架電", "督促状送付", "訪問", "資力調査", "面談", "保証人へ連絡", "住民票請求"]


@dataclass(slots=True)
class _Claim:
    """What phase one decides for a claim; rows are drawn from it in phase three."""

    n: int
    sub: date
    contract: date
    loan: int
    interest: int
    corporate: bool
    guarantors: int
    collateral: bool
    quiet: bool  # no receipts, no events: its clocks are near or past completion
    reference: bool
    receipts: int
    contacts: int
    payer: int = 1  # 関係人番号 of who pays the receipts
    monthly: bool = False
    r_first: date | None = None
    r_last: date | None = None
    # (関係人番号, 事由, date, spare: may be dropped to make the count exact)
    events: list[tuple[int, str, date, bool]] = field(default_factory=list)

    @property
    def principal(self) -> int:
        """The claim principal (求償元金): what the receipts' budget is taken from."""
        return self.loan + self.interest


def staff_members(claims: int) -> list[tuple[str, str, str]]:
    """The (login, name, role) of the recovery staff that the claims are assigned to.

    The benchmark registers them (``kyusho staff add``) before importing.
    """
    count = max(3, min(STAFF_COUNT_MAX, claims // CLAIMS_PER_STAFF))
    rng = random.Random(4242)
    out: list[tuple[str, str, str]] = []
    used: set[str] = set()
    surnames = [s for s in SURNAMES if s[2] >= 14]
    for i in range(count):
        while True:
            kanji, kana, _w = rng.choice(surnames)
            given, _gk = rng.choice(GIVEN_MALE + GIVEN_FEMALE)
            login = _romaji(kana) + f"{i + 1:02d}"
            if login not in used:
                break
        used.add(login)
        role = "manager" if i % 10 == 9 else "staff"
        out.append((login, f"{kanji} {given}", role))
    return out


_ROMAJI = {
    "ア": "a", "イ": "i", "ウ": "u", "エ": "e", "オ": "o",
    "カ": "ka", "キ": "ki", "ク": "ku", "ケ": "ke", "コ": "ko",
    "サ": "sa", "シ": "shi", "ス": "su", "セ": "se", "ソ": "so",
    "タ": "ta", "チ": "chi", "ツ": "tsu", "テ": "te", "ト": "to",
    "ナ": "na", "ニ": "ni", "ヌ": "nu", "ネ": "ne", "ノ": "no",
    "ハ": "ha", "ヒ": "hi", "フ": "fu", "ヘ": "he", "ホ": "ho",
    "マ": "ma", "ミ": "mi", "ム": "mu", "メ": "me", "モ": "mo",
    "ヤ": "ya", "ユ": "yu", "ヨ": "yo",
    "ラ": "ra", "リ": "ri", "ル": "ru", "レ": "re", "ロ": "ro",
    "ワ": "wa", "ン": "n",
    "ガ": "ga", "ギ": "gi", "グ": "gu", "ゲ": "ge", "ゴ": "go",
    "ザ": "za", "ジ": "ji", "ズ": "zu", "ゼ": "ze", "ゾ": "zo",
    "ダ": "da", "デ": "de", "ド": "do",
    "バ": "ba", "ビ": "bi", "ブ": "bu", "ベ": "be", "ボ": "bo",
}  # fmt: skip


def _romaji(kana: str) -> str:
    """A login-like romanisation of a surname's kana (good enough for logins)."""
    out = []
    for ch in kana:
        if ch in "ャュョ" and out:
            out[-1] = out[-1][:-1] + {"ャ": "ya", "ュ": "yu", "ョ": "yo"}[ch]
        elif ch == "ッ":
            out.append("t")
        elif ch == "ー":
            continue
        else:
            out.append(_ROMAJI.get(ch, ""))
    return "".join(out)


class _Picker:
    """Weighted choice by bisection on cumulative weights (random.choices is slow per call)."""

    def __init__(self, items: Sequence[object], weights: Sequence[int]) -> None:
        self.items = list(items)
        self.cum = list(itertools.accumulate(weights))
        self.total = self.cum[-1]

    def __call__(self, rng: random.Random) -> object:
        return self.items[bisect.bisect_right(self.cum, rng.random() * self.total)]


_SURNAME = _Picker([(s, k) for s, k, _ in SURNAMES], [w for *_, w in SURNAMES])
_FORM = _Picker([(f, k) for f, k, _ in FORMS], [w for *_, w in FORMS])
_LENDER = _Picker([name for name, _ in LENDERS], [w for _, w in LENDERS])


def _person(rng: random.Random) -> tuple[str, str, bool]:
    s, sk = _SURNAME(rng)  # type: ignore[misc]
    male = rng.random() < 0.7
    g, gk = rng.choice(GIVEN_MALE if male else GIVEN_FEMALE)
    return f"{s} {g}", f"{sk} {gk}", male


def _company(rng: random.Random) -> tuple[str, str]:
    stem, stemk = rng.choice(BUSINESS_STEMS)
    trade, tradek = rng.choice(BUSINESS_TRADES)
    form, formk = _FORM(rng)  # type: ignore[misc]
    if rng.random() < 0.85:
        return f"{form}{stem}{trade}", f"{formk}{stemk}{tradek}"
    return f"{stem}{trade}{form}", f"{stemk}{tradek}{formk.replace(')', '')}"


def _claim_no(n: int, sub: date) -> str:
    if sub >= date(2019, 5, 1):
        return f"R{sub.year - 2018}-{n:06d}"
    return f"H{sub.year - 1988}-{n:06d}"


def _is_reference(n: int, claims: int) -> bool:
    return n % 1000 == 500 or n == max(1, claims // 2)


# --------------------------------------------------------------------------- phase one


def _plan(rng: random.Random, claims: int, today: date) -> list[_Claim]:
    plans: list[_Claim] = []
    for n in range(1, claims + 1):
        reference = _is_reference(n, claims)
        r = rng.random()
        quiet = False
        if reference:
            days = rng.randint(5 * 365, 9 * 365)
        elif r < 0.015:  # limitation alerts: 4.5 to 5 years without anything
            days, quiet = rng.randint(1650, 1800), True
        elif r < 0.018:  # missed: already completed
            days, quiet = rng.randint(1830, 2150), True
        elif r < 0.72:
            days = rng.randint(150, 8 * 365)
        else:
            days = rng.randint(8 * 365, 20 * 365)
        sub = today - timedelta(days=days)
        contract = sub - timedelta(days=rng.randint(300, 3000))
        loan = rng.choice([3, 5, 5, 8, 10, 10, 15, 20, 20, 30, 30, 50, 80, 100]) * 100_000
        loan += rng.choice([0, 0, 5, 10, 20, 50]) * 100_000 - rng.randint(0, 20) * 10_000
        interest = rng.randint(0, 80) * 1_000 + rng.randint(0, 999)
        corporate = reference or rng.random() < 0.65
        if reference:
            guarantors = REFERENCE_OBLIGORS - 1
        elif corporate:
            x = rng.random()
            guarantors = 1 if x < 0.70 else (2 if x < 0.92 else 3)
        else:
            guarantors = 1 if rng.random() < 0.30 else 0
        collateral = not reference and rng.random() < 0.02
        if reference:
            receipts = REFERENCE_RECEIPTS
        elif quiet:
            receipts = 0
        else:
            x = rng.random()
            if x < 0.30:
                receipts = 0
            elif x < 0.77:
                receipts = rng.randint(1, 6)
            elif x < 0.95:
                receipts = rng.randint(8, 40)
            elif x < 0.995:
                receipts = rng.randint(40, 120)
            else:
                receipts = rng.randint(200, 400)  # hundreds: monthly for decades, or weekly
        x = rng.random()
        contacts = (
            3
            if reference
            else (0 if x < 0.15 else 1 if x < 0.35 else 2 if x < 0.55 else rng.randint(3, 6))
        )
        plans.append(
            _Claim(
                n,
                sub,
                contract,
                loan,
                interest,
                corporate,
                guarantors,
                collateral,
                quiet,
                reference,
                receipts,
                contacts,
            )
        )
    return plans


def _exact(
    rng: random.Random,
    plans: list[_Claim],
    attr: str,
    target: int,
    *,
    eligible,
    lo: int,
    hi: int,
) -> None:
    """Nudge one count of randomly chosen eligible claims until the total is ``target``."""
    pool = [p for p in plans if eligible(p)]
    total = sum(getattr(p, attr) for p in plans)
    if not pool:
        return
    guard = 0
    while total != target and guard < 50 * len(plans) + abs(target - total) * 20:
        guard += 1
        p = pool[rng.randrange(len(pool))]
        value = getattr(p, attr)
        if total < target and value < hi:
            setattr(p, attr, value + 1)
            total += 1
        elif total > target and value > lo:
            setattr(p, attr, value - 1)
            total -= 1


YEAR = 365
KEEP = int(4.4 * YEAR)  # a managed clock is renewed within 4.4 years (the period is 5)
KEEP_JUDGED = int(9.4 * YEAR)  # after a judgment the period is 10 years


def _windows(rng: random.Random, p: _Claim, today: date) -> None:
    """When and by whom the claim's receipts are paid (their dates are drawn later)."""
    k = p.receipts
    if k == 0:
        return
    first = p.sub + timedelta(days=30)
    span = (today - first).days
    months = span // 31
    guarantors = list(range(2, p.guarantors + 2))
    p.payer = 1 if not guarantors or rng.random() < 0.8 else rng.choice(guarantors)
    if k >= 8 and k <= months and (p.reference or rng.random() < 0.85):
        # instalments on the same day of every month; half are still paying
        p.monthly = True
        slack = months - (k - 1)
        lead = slack if rng.random() < 0.5 else rng.randint(0, slack)
        p.r_first = _add_months(first, lead) if lead else first
        p.r_last = _add_months(p.r_first, k - 1)
        if p.r_last > today:
            p.r_first, p.r_last = first, _add_months(first, k - 1)
    elif k <= 6:
        length = 0 if k == 1 else rng.randint(0, min(span, 4 * YEAR))
        p.r_first = first + timedelta(days=rng.randint(0, span - length))
        p.r_last = p.r_first + timedelta(days=length)
    else:  # many receipts at irregular dates (dividends, sales of collateral, cash)
        p.payer = 1
        p.r_first = first
        p.r_last = today - timedelta(days=rng.randint(0, min(60, span)))


def _chain(rng: random.Random, p: _Claim, start: date, end: date, judged: bool) -> bool:
    """Renewals of the principal debtor's clock so no gap from ``start`` to ``end`` lets it
    complete: acknowledgements (債務承認書), or a suit and its judgment for long gaps."""
    cur = start
    while (end - cur).days > (KEEP_JUDGED if judged else KEEP):
        if not judged and (end - cur).days > 9 * YEAR and rng.random() < 0.8:
            filed = cur + timedelta(days=rng.randint(YEAR, KEEP - 250))
            kind = rng.choice(["訴え提起", "訴え提起", "支払督促申立", "調停申立"])
            done = filed + timedelta(days=rng.randint(60, 200))
            p.events.append((1, kind, filed, False))
            p.events.append((1, "調停成立" if kind == "調停申立" else "判決確定", done, False))
            cur, judged = done, True
        else:
            limit = KEEP_JUDGED if judged else KEEP
            cur = cur + timedelta(days=rng.randint(int(limit * 0.75), limit))
            p.events.append((1, "承認", cur, False))
    return judged


def _events(rng: random.Random, p: _Claim, today: date) -> None:
    """Limitation events: the renewals a managed claim needs, and ones that end a clock.

    Quiet claims get none: their clocks near completion (the worklist's alerts) or have
    completed unnoticed, as a few do in every real portfolio.
    """
    if p.quiet:
        return
    age = (today - p.sub).days
    if p.payer == 1 and p.r_first is not None and p.r_last is not None:
        judged = _chain(rng, p, p.sub, p.r_first, False)
        _chain(rng, p, p.r_last, today, judged)
    else:
        _chain(rng, p, p.sub, today, False)
    if age > 400 and not p.reference:
        x = rng.random()
        if not p.corporate and x < 0.03:
            on = p.sub + timedelta(days=rng.randint(120, age - 1))
            p.events.append((1, "免責確定", on, False))
        elif p.corporate and x < 0.04:
            on = p.sub + timedelta(days=rng.randint(120, age - 1))
            p.events.append((1, "法人格消滅", on, False))
    if p.guarantors and age > 200 and rng.random() < 0.06:
        on = p.sub + timedelta(days=rng.randint(100, age - 1))
        p.events.append((rng.randint(2, p.guarantors + 1), "催告", on, True))


def _fill_events(rng: random.Random, plans: list[_Claim], target: int, today: date) -> None:
    """Make the event count exact: add demands, agreements and guarantors' acknowledgements,
    or drop such spare events (never a renewal the principal debtor's clock needs)."""
    total = sum(len(p.events) for p in plans)
    candidates = [p for p in plans if not p.quiet and not p.reference]
    if not candidates:
        return
    spare_claims = [p for p in candidates if any(e[3] for e in p.events)]
    while total > target and spare_claims:
        i = rng.randrange(len(spare_claims))
        p = spare_claims[i]
        spare = [j for j, e in enumerate(p.events) if e[3]]
        if not spare:
            spare_claims[i] = spare_claims[-1]
            spare_claims.pop()
            continue
        del p.events[rng.choice(spare)]
        total -= 1
    while total < target:
        p = candidates[rng.randrange(len(candidates))]
        age = (today - p.sub).days
        if age < 60:
            continue
        who = rng.randint(1, p.guarantors + 1)
        on = p.sub + timedelta(days=rng.randint(30, age - 1))
        kind = rng.choice(["催告", "催告", "承認", "協議合意"])
        p.events.append((who, kind, on, True))
        total += 1


# --------------------------------------------------------------------------- phase three


def _add_months(d: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it has no such day)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _receipt_dates(rng: random.Random, p: _Claim) -> list[date]:
    """The receipts' dates inside the window chosen in phase one (both ends included)."""
    k = p.receipts
    if k == 0 or p.r_first is None or p.r_last is None:
        return []
    if p.monthly:
        return [_add_months(p.r_first, i) for i in range(k)]
    if k == 1:
        return [p.r_first]
    span = (p.r_last - p.r_first).days
    inner = sorted(p.r_first + timedelta(days=rng.randint(0, span)) for _ in range(k - 2))
    return [p.r_first, *inner, p.r_last]


def generate(
    out_dir: Path | str,
    *,
    claims: int = 200_000,
    seed: int = 1,
    today: date | None = None,
) -> dict[str, Path]:
    """Write the five import files for ``claims`` claims; returns ``{kind: path}``.

    The same ``(claims, seed, today)`` always gives byte-identical files. ``today`` defaults
    to the current date (every date in the files is on or before it).
    """
    if claims < 1:
        raise ValueError("claims must be at least 1")
    today = today or SYSTEM_CLOCK.today()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)

    plans = _plan(rng, claims, today)
    free = lambda p: not p.reference  # noqa: E731
    _exact(
        rng,
        plans,
        "guarantors",
        round(claims * OBLIGORS_PER_CLAIM) - claims - sum(p.collateral for p in plans),
        eligible=free,
        lo=0,
        hi=3,
    )
    _exact(
        rng,
        plans,
        "receipts",
        round(claims * RECEIPTS_PER_CLAIM),
        eligible=lambda p: free(p) and p.receipts > 0,
        lo=1,
        hi=500,
    )
    _exact(
        rng,
        plans,
        "contacts",
        round(claims * CONTACTS_PER_CLAIM),
        eligible=free,
        lo=0,
        hi=12,
    )
    for p in plans:
        _windows(rng, p, today)
        _events(rng, p, today)
    _fill_events(rng, plans, round(claims * EVENTS_PER_CLAIM), today)

    staff = [login for login, _name, _role in staff_members(claims)]
    paths = {kind: out / f"{kind}.csv" for kind in FILES}
    handles = {kind: paths[kind].open("w", encoding="utf-8", newline="") for kind in FILES}
    try:
        writers = {kind: csv.writer(handles[kind], lineterminator="\r\n") for kind in FILES}
        for kind in FILES:
            writers[kind].writerow(header(kind))
        for p in plans:
            _write_claim(rng, p, today, staff, writers)
    finally:
        for h in handles.values():
            h.close()
    return paths


def _write_claim(rng: random.Random, p: _Claim, today: date, staff: list[str], writers) -> None:
    claim_no = _claim_no(p.n, p.sub)
    loan_principal, loan_interest = p.loan, p.interest
    municipal = rng.random() < 0.6
    insured = rng.random() < 0.8
    cover = rng.choice(["70", "80", "80", "90"]) if insured else ""
    paid_on = p.sub + timedelta(days=rng.randint(30, 120)) if insured else None
    if paid_on is not None and paid_on > today:
        paid_on = None
    ins_paid = loan_principal * int(cover or "0") // 100 if paid_on else ""
    rate = "14.0" if p.contract >= date(2010, 1, 1) else rng.choice(["14.6", "14.6", "18.25"])
    handler = staff[(p.n * 7919) % len(staff)]
    writers["claims"].writerow(
        [
            claim_no,
            p.sub.isoformat(),
            loan_principal,
            loan_interest,
            rate,
            "元金" if rng.random() < 0.08 else "法定",
            p.contract.isoformat(),
            _LENDER(rng),
            rng.choice(PROGRAMMES) if municipal else "",
            ("普通保険" if rng.random() < 0.7 else "無担保保険") if insured else "",
            cover,
            ins_paid,
            paid_on.isoformat() if paid_on else "",
            "東京都" if municipal else "",
            handler,
        ]
    )

    town = rng.choice(TOWNS)
    address = f"東京都{town}{rng.randint(1, 9)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}"
    w = writers["obligors"]
    if p.corporate:
        name, kana = _company(rng)
        w.writerow([claim_no, 1, "主債務者", name, kana, "法人", "", "", address, ""])
    else:
        name, kana, _male = _person(rng)
        birth = date(rng.randint(1945, 1995), rng.randint(1, 12), rng.randint(1, 28))
        merchant = rng.choice(["1", "1", "0", ""])
        w.writerow(
            [claim_no, 1, "主債務者", name, kana, "個人", merchant, birth.isoformat(), address, ""]
        )
    for g in range(p.guarantors):
        gname, gkana, _male = _person(rng)
        gbirth = date(rng.randint(1940, 1995), rng.randint(1, 12), rng.randint(1, 28))
        gaddr = (
            address
            if rng.random() < 0.6
            else (
                f"東京都{rng.choice(TOWNS)}{rng.randint(1, 9)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}"
            )
        )
        w.writerow(
            [claim_no, g + 2, "連帯保証人", gname, gkana, "個人", "", gbirth.isoformat(), gaddr, ""]
        )
    if p.collateral:
        cname, ckana, _male = _person(rng)
        w.writerow(
            [claim_no, p.guarantors + 2, "物上保証人", cname, ckana, "個人", "", "", address, ""]
        )

    # receipts: the total stays under 60% of the claim principal, so no receipt can ever
    # exceed the balance whatever the allocation order
    dates = _receipt_dates(rng, p)
    if dates:
        budget = p.principal * 6 // 10
        per = budget // len(dates)
        monthly = per // 1000 * 1000 if per >= 2000 else max(1, per)
        methods = ["振込", "口座振替"] if p.monthly else ["振込", "現金", "担保処分", "配当"]
        w = writers["receipts"]
        for k, d in enumerate(dates):
            if p.monthly:
                amount = monthly
            else:
                choice = rng.choice([10_000, 30_000, 50_000, 100_000, 300_000, 500_000, 1_000_000])
                amount = max(1, min(per, choice))
            w.writerow(
                [claim_no, d.isoformat(), amount, p.payer, rng.choice(methods), f"N{p.n}-{k + 1}"]
            )

    w = writers["events"]
    for k, (who, kind, on, _spare) in enumerate(sorted(p.events, key=lambda e: e[2])):
        w.writerow([claim_no, who, kind, min(on, today).isoformat(), "", f"E{p.n}-{k + 1}"])

    if p.contacts:
        w = writers["contacts"]
        age = (today - p.sub).days
        span = min(age - 1, 6 * 365)
        times = sorted(
            datetime.combine(
                today - timedelta(days=rng.randint(0, span)), datetime.min.time()
            ).replace(hour=rng.randint(9, 17), minute=rng.choice([0, 10, 15, 20, 30, 40, 45, 50]))
            for _ in range(p.contacts)
        )
        people = list(range(1, p.guarantors + 2 + (1 if p.collateral else 0)))
        for k, at in enumerate(times):
            last = k == len(times) - 1
            promise = rng.random() < 0.15
            nxt = rng.random() < (0.6 if last else 0.3)
            if nxt and last:
                next_on = today + timedelta(days=rng.randint(-20, 30))
            else:
                next_on = at.date() + timedelta(days=rng.randint(7, 30))
            w.writerow(
                [
                    claim_no,
                    rng.choice(people),
                    at.strftime("%Y-%m-%d %H:%M"),
                    handler if rng.random() < 0.9 else rng.choice(staff),
                    rng.choice(["電話", "電話", "電話", "文書", "面談", "訪問"]),
                    rng.choice(OUTCOMES),
                    rng.choice(NOTES),
                    rng.choice([10_000, 20_000, 30_000, 50_000, 100_000]) if promise else "",
                    (at.date() + timedelta(days=rng.randint(7, 30))).isoformat() if promise else "",
                    rng.choice(NEXT_ACTIONS) if nxt else "",
                    next_on.isoformat() if nxt else "",
                    f"C{p.n}-{k + 1}",
                ]
            )


def reference_claims(claims: int) -> list[int]:
    """Sequence numbers of the reference claims (4 obligors, 50 receipts); at least one.

    A claim number ends in ``-`` and the sequence number in six digits (``R3-000500``).
    """
    return [n for n in range(1, claims + 1) if _is_reference(n, claims)]
