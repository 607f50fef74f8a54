"""Deterministic demo data in Soko's import format, with the ground truth behind it.

The generator is a small simulation of a Japanese D2C brand selling one stock on
its own web shop, Amazon (through FBA), Rakuten, Yahoo! Shopping and three
stores. It exists so that planning code can be tested against known answers:
every effect that planning should find (seasonality, holidays, campaigns,
price elasticity, intermittent demand, stockouts, supplier lead-time spread,
customer value) is put in by a named parameter, and that parameter is returned
in ``Dataset.truth``. ``docs/ground-truth.md`` describes every truth frame.

How it works, in order:

1. Calendar: a day multiplier per channel, weekday × month × Japanese national
   holiday (``holidays`` package), normalised to mean 1, times the traffic
   uplift of the campaigns running on the channel that day.
2. Customers follow BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers
   the easy way", Marketing Science 24(2)): purchase rate λ ~ Gamma(r, α),
   dropout probability p ~ Beta(a, b) after each repeat purchase (never right
   after the first: FHL's convention), so a customer makes 1 + J purchases before
   dropping out, J ~ Geometric(p) on {1, 2, ...}. Transaction times are drawn from a
   non-homogeneous Poisson process with rate λ·m_c(t) (m_c the day multiplier
   of the customer's home channel) by time change: unit-rate exponential gaps
   on the cumulative multiplier M_c(t) = Σ m_c. Spend per transaction follows
   Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV", JMR 42(4)):
   z ~ Gamma(p, ν), ν ~ Gamma(q, γ), so a customer's mean spend is ζ = p/ν.
3. A day-by-day walk turns transactions into order lines: a category (the
   customer's favourite with probability ``AFFINITY``), a SKU by heavy-tailed
   popularity × season × price effect (p/p_ref)^ε, a quantity from the
   transaction's spend. Lines meet the stock of their location; a line that
   wants more than is there is cut, the customer may lapse (their later
   purchases are cancelled) and may sign up for a restock notice.
4. Stock per SKU × location is replenished by an (R, s, S) policy on promised
   lead times, with s = μ̂(L+R) + z·√(φ·μ̂·(L+R)), S = s + μ̂·R, μ̂ an
   exponentially weighted forecast. Real lead times are lognormal with a
   coefficient of variation of 0.3–0.5, so the policy sometimes runs short.

Heavy arrays are numpy; frames are built only at the end. Everything draws from
``numpy.random.SeedSequence(seed)`` streams, so a preset and seed give the same
frames on any machine with the same numpy.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import holidays
import numpy as np
import numpy.typing as npt
import polars as pl
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
Texts = npt.NDArray[np.str_]

END = dt.date(2026, 10, 31)
DAYS = 730
START = END - dt.timedelta(days=DAYS - 1)
EPOCH_OFFSET = (START - dt.date(1970, 1, 1)).days

# --- the parameters that are ground truth ------------------------------------------------

BGNBD_R, BGNBD_ALPHA = 0.75, 40.0  # λ ~ Gamma(shape r, rate α): mean 0.019 purchases/day
BGNBD_A, BGNBD_B = 0.9, 4.5  # p ~ Beta(a, b): mean dropout 0.17 after each repeat purchase
GG_P, GG_Q, GG_GAMMA = 4.0, 4.0, 5_000.0  # z ~ Gamma(p, ν), ν ~ Gamma(q, γ): E[ζ] = pγ/(q-1)
LAPSE_PROBABILITY = 0.3  # P(customer lapses | met a stockout)
RESTOCK_SIGNUP_PROBABILITY = 0.3  # P(signs up for a restock notice | met a stockout online)
AFFINITY = 0.5  # share of a known customer's lines from their favourite category
CHANNEL_SWITCH = 0.1  # share of a customer's purchases made away from their home channel
COUPON_USE = 0.7  # share of own-shop orders during a coupon campaign that use the coupon
PARTIAL_RECEIPT = 0.15  # share of PO lines delivered in two parts
POLICY_Z = 0.4  # the simulated buyer's safety factor
POLICY_DISPERSION = 2.0  # φ: the buyer's variance-to-mean ratio of daily demand
REVIEW_DAYS = 7
FORECAST_ALPHA = 2.0 / 29.0  # EWMA weight: a 4-week memory
ANONYMOUS_SPEND = 5_000.0
MAX_QUANTITY = 6

CHANNELS = (  # code, name, kind
    ("own_web", "自社EC", "own_web"),
    ("amazon", "Amazon", "amazon"),
    ("rakuten", "楽天市場", "rakuten"),
    ("yahoo", "Yahoo!ショッピング", "yahoo"),
    ("store_pos", "店舗POS", "store_pos"),
)
OWN_WEB, AMAZON, RAKUTEN, YAHOO, STORE_POS = range(5)
HOME_CHANNEL_SHARE = np.array([0.30, 0.22, 0.25, 0.10, 0.13])
NOTICE_CHANNELS = (OWN_WEB, RAKUTEN, YAHOO)

LOCATIONS = (  # code, name, kind, prefecture, channel
    ("WH-KANTO", "関東物流センター", "warehouse", "埼玉県", None),
    ("FBA-JP", "Amazon FBA", "marketplace_warehouse", "神奈川県", "amazon"),
    ("ST-SHIBUYA", "渋谷店", "store", "東京都", None),
    ("ST-UMEDA", "梅田店", "store", "大阪府", None),
    ("ST-TENJIN", "天神店", "store", "福岡県", None),
)
STORE_WEIGHT = np.array([0.45, 0.35, 0.20])
# Outlets are where a purchase happens: the four online channels and the three stores.
OUTLET_CHANNEL = np.array([OWN_WEB, AMAZON, RAKUTEN, YAHOO, STORE_POS, STORE_POS, STORE_POS])
OUTLET_LOCATION = np.array([0, 1, 0, 0, 2, 3, 4])
N_OUTLETS = 7

WEEKDAY_ONLINE = np.array([1.0, 0.92, 0.92, 0.95, 1.0, 1.15, 1.25])
WEEKDAY_STORE = np.array([0.8, 0.75, 0.75, 0.8, 0.95, 1.45, 1.5])
MONTH = np.array([1.15, 0.8, 0.95, 0.95, 1.0, 0.9, 1.05, 0.95, 0.9, 0.95, 1.1, 1.35])
HOLIDAY_ONLINE, HOLIDAY_STORE = 1.3, 1.6

HOURS_ONLINE = np.array(
    [
        1.0,
        0.6,
        0.4,
        0.3,
        0.3,
        0.4,
        0.8,
        1.2,
        1.5,
        1.6,
        1.7,
        1.8,
        2.2,
        2.0,
        1.8,
        1.8,
        1.9,
        2.0,
        2.4,
        2.8,
        3.2,
        3.4,
        3.0,
        2.0,
    ]
)
HOURS_STORE = np.zeros(24)
HOURS_STORE[10:20] = [0.6, 0.9, 1.2, 1.3, 1.2, 1.3, 1.5, 1.7, 1.5, 1.0]


@dataclass(frozen=True)
class Category:
    """A product category: its SKU prefix, season, sizes and typical price."""

    code: str
    name: str
    season: str  # "" for staples, "AW" autumn-winter, "SS" spring-summer
    sizes: tuple[str, ...]
    price: int  # median regular price in JPY, tax included
    return_rate: float
    share: float  # share of products
    nouns: tuple[str, ...]
    tax_rate: str = "10"
    case_packs: tuple[int, ...] = (1, 2, 5)


SIZED = ("S", "M", "L", "XL")
CATEGORIES = (
    Category("TP", "トップス", "", SIZED, 3990, 0.06, 0.16, ("Tシャツ", "シャツ", "スウェット")),
    Category("BT", "ボトムス", "", SIZED, 5990, 0.07, 0.12, ("デニム", "チノパンツ", "スカート")),
    Category("BG", "バッグ", "", ("F",), 7990, 0.03, 0.08, ("トートバッグ", "リュック")),
    Category("AC", "小物", "", ("F",), 2490, 0.02, 0.10, ("キャップ", "ソックス", "ベルト")),
    Category(
        "HM",
        "ホーム",
        "",
        ("F",),
        3490,
        0.02,
        0.10,
        ("マグカップ", "タオル", "クッション"),
        case_packs=(2, 6),
    ),
    Category(
        "SC",
        "スキンケア",
        "",
        ("F",),
        2990,
        0.01,
        0.08,
        ("化粧水", "ハンドクリーム", "リップバーム"),
        case_packs=(6, 12),
    ),
    Category(
        "FD",
        "食品",
        "",
        ("F",),
        1490,
        0.005,
        0.06,
        ("ほうじ茶", "ドリップコーヒー"),
        tax_rate="8",
        case_packs=(12, 24),
    ),
    Category(
        "OW", "アウター", "AW", SIZED, 14990, 0.08, 0.12, ("ダウンジャケット", "ウールコート")
    ),
    Category("KN", "ニット", "AW", ("S", "M", "L"), 6990, 0.06, 0.08, ("セーター", "カーディガン")),
    Category(
        "SW", "水着", "SS", ("S", "M", "L"), 5990, 0.05, 0.04, ("ラッシュガード", "スイムウェア")
    ),
    Category(
        "SD",
        "サンダル",
        "SS",
        ("23", "24", "25", "26", "27"),
        4990,
        0.06,
        0.04,
        ("サンダル", "スライドサンダル"),
    ),
)
SEASONS = {  # season label → (kind, first selling day, last selling day)
    "AW24": ("AW", dt.date(2024, 9, 1), dt.date(2025, 2, 28)),
    "SS25": ("SS", dt.date(2025, 3, 1), dt.date(2025, 8, 31)),
    "AW25": ("AW", dt.date(2025, 9, 1), dt.date(2026, 2, 28)),
    "SS26": ("SS", dt.date(2026, 3, 1), dt.date(2026, 8, 31)),
    "AW26": ("AW", dt.date(2026, 9, 1), dt.date(2027, 2, 28)),
}
COLOURS = (
    ("BK", "ブラック"),
    ("WH", "ホワイト"),
    ("NV", "ネイビー"),
    ("GY", "グレー"),
    ("BE", "ベージュ"),
    ("KH", "カーキ"),
    ("RD", "レッド"),
    ("BL", "ブルー"),
)
ADJECTIVES = (
    "オーガニックコットン",
    "リネン",
    "ベーシック",
    "リラックス",
    "ウォッシャブル",
    "ヴィンテージ",
    "ライトウェイト",
    "プレミアム",
    "デイリー",
    "スタンダード",
)
BRANDS = ("SOKO", "SOKO BASICS", "kura label", "ame to hare")
SIZE_WEIGHT = {
    "S": 0.7,
    "M": 1.3,
    "L": 1.2,
    "XL": 0.6,
    "F": 1.0,
    "23": 0.7,
    "24": 1.1,
    "25": 1.2,
    "26": 1.0,
    "27": 0.6,
}
SUPPLIER_NAMES = {
    "JP": (
        "東京テキスタイル",
        "大阪ホームグッズ",
        "京都コスメ工房",
        "静岡ティーファーム",
        "岡山デニム",
        "名古屋雑貨",
    ),
    "CN": ("寧波服飾有限公司", "Guangzhou Leather Co.", "Shanghai Knit Ltd."),
    "VN": ("Saigon Garment Co.", "Hanoi Footwear JSC"),
}
LEAD_TIME_MEAN = {"JP": (4.0, 10.0), "CN": (21.0, 35.0), "VN": (28.0, 42.0)}
PREFECTURES = (  # name, population in millions (2020 census, rounded)
    ("東京都", 14.0),
    ("神奈川県", 9.2),
    ("大阪府", 8.8),
    ("愛知県", 7.5),
    ("埼玉県", 7.3),
    ("千葉県", 6.3),
    ("兵庫県", 5.4),
    ("北海道", 5.2),
    ("福岡県", 5.1),
    ("静岡県", 3.6),
    ("茨城県", 2.9),
    ("広島県", 2.8),
    ("京都府", 2.6),
    ("宮城県", 2.3),
    ("新潟県", 2.2),
    ("長野県", 2.0),
    ("岐阜県", 2.0),
    ("群馬県", 1.9),
    ("栃木県", 1.9),
    ("岡山県", 1.9),
    ("福島県", 1.8),
    ("三重県", 1.8),
    ("熊本県", 1.7),
    ("鹿児島県", 1.6),
    ("沖縄県", 1.5),
    ("滋賀県", 1.4),
    ("山口県", 1.3),
    ("愛媛県", 1.3),
    ("奈良県", 1.3),
    ("長崎県", 1.3),
)
STORE_PREFECTURE = (0, 2, 8)  # index into PREFECTURES of each store's prefecture


@dataclass(frozen=True)
class Preset:
    """Size of a demo data set."""

    name: str
    n_products: int
    n_customers: int
    n_suppliers: int
    anonymous_per_day: float  # walk-in sales without a customer ID, all stores, ordinary day


PRESETS = {
    "small": Preset("small", 60, 3_000, 6, 4.0),
    "medium": Preset("medium", 600, 50_000, 18, 60.0),
    "large": Preset("large", 6_600, 500_000, 60, 550.0),
}


@dataclass(frozen=True)
class Dataset:
    """Import frames keyed by entity name (``contract.ENTITIES``) and truth frames by name."""

    tables: dict[str, pl.DataFrame]
    truth: dict[str, pl.DataFrame]


# --- calendar and campaigns --------------------------------------------------------------


@dataclass(frozen=True)
class Calendar:
    dates: list[dt.date]
    weekday: I64  # Monday = 0
    holiday: Bools
    base: F64  # (channel, day): weekday × month × holiday, mean 1 per channel


def _calendar() -> Calendar:
    dates = [START + dt.timedelta(days=i) for i in range(DAYS)]
    japan = holidays.country_holidays("JP", years=range(START.year, END.year + 1))
    weekday = np.array([d.weekday() for d in dates], dtype=np.int64)
    month = np.array([d.month - 1 for d in dates], dtype=np.int64)
    holiday = np.array([d in japan for d in dates], dtype=np.bool_)
    base = np.empty((len(CHANNELS), DAYS))
    for c in range(len(CHANNELS)):
        store = c == STORE_POS
        wd = (WEEKDAY_STORE if store else WEEKDAY_ONLINE)[weekday]
        hol = np.where(holiday, HOLIDAY_STORE if store else HOLIDAY_ONLINE, 1.0)
        row = wd * MONTH[month] * hol
        base[c] = row / row.mean()
    return Calendar(dates, weekday, holiday, base)


@dataclass(frozen=True)
class Campaign:
    code: str
    name: str
    kind: str
    channel: int  # -1: every channel
    first: int  # day index
    last: int
    discount_pct: float
    coupon_code: str | None
    uplift: float  # multiplier on the channel's purchase rate while it runs
    coverage: float  # share of SKUs covered when not a markdown; 1.0 → no campaign_skus rows
    season: str = ""  # a markdown covers that season's seasonal SKUs


def _day(d: dt.date) -> int:
    return (d - START).days


def _campaigns(rng: np.random.Generator) -> list[Campaign]:
    """The campaign calendar: what a Japanese omnichannel seller runs in two years."""
    out: list[Campaign] = []
    for year, month in [
        (2024, 12),
        (2025, 3),
        (2025, 6),
        (2025, 9),
        (2025, 12),
        (2026, 3),
        (2026, 6),
        (2026, 9),
    ]:
        first = dt.date(year, month, 4)
        out.append(
            Campaign(
                f"RSS-{year}{month:02d}",
                f"楽天スーパーSALE {year}年{month}月",
                "marketplace_sale",
                RAKUTEN,
                _day(first),
                _day(first) + 6,
                20.0,
                None,
                float(rng.uniform(5.5, 7.0)),
                0.5,
            )
        )
    for code, name, first, n in [
        ("AMZ-BF-2024", "Amazon ブラックフライデー 2024", dt.date(2024, 11, 29), 8),
        ("AMZ-PD-2025", "Amazon プライムデー 2025", dt.date(2025, 7, 11), 4),
        ("AMZ-PBD-2025", "Amazon プライム感謝祭 2025", dt.date(2025, 10, 4), 4),
        ("AMZ-BF-2025", "Amazon ブラックフライデー 2025", dt.date(2025, 11, 28), 8),
        ("AMZ-PD-2026", "Amazon プライムデー 2026", dt.date(2026, 7, 10), 4),
        ("AMZ-PBD-2026", "Amazon プライム感謝祭 2026", dt.date(2026, 10, 3), 4),
    ]:
        uplift = rng.uniform(3.0, 4.0) if "-PD-" in code else rng.uniform(2.0, 2.8)
        out.append(
            Campaign(
                code,
                name,
                "marketplace_sale",
                AMAZON,
                _day(first),
                _day(first) + n - 1,
                15.0,
                None,
                float(uplift),
                0.3,
            )
        )
    for code, name, first, n, pct in [
        ("NEWYEAR25", "新春クーポン 2025", dt.date(2025, 1, 1), 7, 10.0),
        ("SUMMER25", "夏のクーポン 2025", dt.date(2025, 7, 18), 7, 10.0),
        ("THANKS25", "会員感謝クーポン 2025", dt.date(2025, 11, 21), 7, 15.0),
        ("NEWYEAR26", "新春クーポン 2026", dt.date(2026, 1, 1), 7, 10.0),
        ("SUMMER26", "夏のクーポン 2026", dt.date(2026, 7, 17), 7, 10.0),
    ]:
        out.append(
            Campaign(
                f"CPN-{code}",
                name,
                "coupon",
                OWN_WEB,
                _day(first),
                _day(first) + n - 1,
                pct,
                code,
                float(rng.uniform(1.6, 2.0)),
                1.0,
            )
        )
    for i in range(DAYS):
        d = START + dt.timedelta(days=i)
        if d.day in (5, 15, 25):
            out.append(
                Campaign(
                    f"Y5-{d:%Y%m%d}",
                    f"5のつく日 {d:%Y-%m-%d}",
                    "marketplace_sale",
                    YAHOO,
                    i,
                    i,
                    0.0,
                    None,
                    1.4,
                    1.0,
                )
            )
    for label, (_, _, last) in SEASONS.items():
        if START < last < END:
            out.append(
                Campaign(
                    f"MD-{label}",
                    f"{label} シーズンセール",
                    "markdown",
                    -1,
                    _day(last) - 20,
                    _day(last),
                    30.0,
                    None,
                    1.0,
                    0.0,
                    label,
                )
            )
    return out + _planned_campaigns()


PLANNED_DAYS = 91  # the seller's calendar reaches this far past the data's last day


def _planned_campaigns() -> list[Campaign]:
    """The next quarter's calendar, known in advance as a seller knows it: after the data's
    last day, so it shapes no sale; the forecast and the orders placed before it should
    see it coming. Uplifts are the middle of each kind's range (no draw, so adding these
    changes none of the simulated history)."""
    out = [
        Campaign(
            "CPN-THANKS26",
            "会員感謝クーポン 2026",
            "coupon",
            OWN_WEB,
            0,
            6,
            15.0,
            "THANKS26",
            1.8,
            1.0,
        ),
        Campaign(
            "AMZ-BF-2026",
            "Amazon ブラックフライデー 2026",
            "marketplace_sale",
            AMAZON,
            0,
            7,
            15.0,
            None,
            2.4,
            0.3,
        ),
        Campaign(
            "RSS-202612",
            "楽天スーパーSALE 2026年12月",
            "marketplace_sale",
            RAKUTEN,
            0,
            6,
            20.0,
            None,
            6.25,
            0.5,
        ),
        Campaign(
            "CPN-NEWYEAR27",
            "新春クーポン 2027",
            "coupon",
            OWN_WEB,
            0,
            6,
            10.0,
            "NEWYEAR27",
            1.8,
            1.0,
        ),
    ]
    firsts = [
        dt.date(2026, 11, 20),
        dt.date(2026, 11, 27),
        dt.date(2026, 12, 4),
        dt.date(2027, 1, 1),
    ]
    planned = [
        dataclasses.replace(c, first=_day(f), last=_day(f) + c.last)
        for c, f in zip(out, firsts, strict=True)
    ]
    for i in range(DAYS, DAYS + PLANNED_DAYS):
        d = START + dt.timedelta(days=i)
        if d.day in (5, 15, 25):
            planned.append(
                Campaign(
                    f"Y5-{d:%Y%m%d}",
                    f"5のつく日 {d:%Y-%m-%d}",
                    "marketplace_sale",
                    YAHOO,
                    i,
                    i,
                    0.0,
                    None,
                    1.4,
                    1.0,
                )
            )
    return planned


def _uplift(campaigns: list[Campaign]) -> F64:
    """(channel, day) traffic multiplier: product of the running campaigns' uplifts."""
    up = np.ones((len(CHANNELS), DAYS))
    for c in campaigns:
        rows = range(len(CHANNELS)) if c.channel < 0 else [c.channel]
        for ch in rows:
            up[ch, c.first : c.last + 1] *= c.uplift
    return up


# --- catalogue ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Catalogue:
    """Products and SKUs; SKUs are ordered by category so each category is one block."""

    products: pl.DataFrame
    suppliers: pl.DataFrame
    sku_codes: Texts
    sku_product: I64
    sku_category: I64
    cat_lo: I64  # first SKU index of each category
    cat_hi: I64  # one past the last
    popularity: F64
    elasticity: F64
    ref_price: F64
    price: I64  # (product, day) list price
    season_first: I64  # first selling day (may be < 0); staples: -10**6
    season_last: I64  # last selling day (may be ≥ DAYS); staples: 10**6
    seasonal: Bools
    supplier: I64  # per SKU
    case_pack: I64
    moq: I64
    gateway: Bools  # per SKU
    listed: Bools  # (outlet, SKU)
    lt_promised: I64  # per supplier
    lt_mu: F64  # lognormal parameters of the real lead time, per supplier
    lt_sigma: F64
    order_weekday: I64  # per supplier
    unit_cost: I64


def _largest_remainder(shares: F64, total: int) -> I64:
    raw = shares / shares.sum() * total
    counts: I64 = np.maximum(np.floor(raw).astype(np.int64), 1)
    order = np.argsort(-(raw - np.floor(raw)), kind="stable")
    i = 0
    while counts.sum() < total:
        counts[order[i % len(order)]] += 1
        i += 1
    return counts


def _jan(numbers: I64) -> list[str]:
    """13-digit JAN codes on the 4571234 maker prefix, with the GS1 mod-10 check digit."""
    body = [f"4571234{n:05d}" for n in numbers]
    out = []
    for b in body:
        s = sum(int(ch) * (3 if i % 2 else 1) for i, ch in enumerate(b))
        out.append(b + str((10 - s % 10) % 10))
    return out


def _catalogue(spec: Preset, rng: np.random.Generator) -> Catalogue:
    # Suppliers: half domestic with short lead times, the rest in China and Vietnam.
    n_sup = spec.n_suppliers
    countries = ["JP"] * math.ceil(n_sup / 2) + ["CN"] * math.ceil((n_sup - n_sup // 2) * 0.6)
    countries += ["VN"] * (n_sup - len(countries))
    sup_rows = []
    lt_promised = np.empty(n_sup, dtype=np.int64)
    lt_mu, lt_sigma = np.empty(n_sup), np.empty(n_sup)
    lt_mean, lt_cv = np.empty(n_sup), np.empty(n_sup)
    order_weekday = rng.integers(0, 5, n_sup)
    seen: dict[str, int] = {}
    for i, country in enumerate(countries):
        names = SUPPLIER_NAMES[country]
        k = seen.get(country, 0)
        seen[country] = k + 1
        name = names[k % len(names)] + (f" {k // len(names) + 1}" if k >= len(names) else "")
        lo, hi = LEAD_TIME_MEAN[country]
        lt_mean[i] = rng.uniform(lo, hi)
        lt_cv[i] = rng.uniform(0.3, 0.5)
        lt_sigma[i] = math.sqrt(math.log(1 + lt_cv[i] ** 2))
        lt_mu[i] = math.log(lt_mean[i]) - lt_sigma[i] ** 2 / 2
        lt_promised[i] = round(lt_mean[i])
        sup_rows.append((f"SUP{i + 1:03d}", name, int(lt_promised[i]), country))
    suppliers = pl.DataFrame(
        sup_rows, schema=["supplier_code", "name", "lead_time_days", "country"], orient="row"
    ).with_columns(
        pl.col("lead_time_days").cast(pl.Int64),
        pl.Series("_mean", lt_mean),
        pl.Series("_cv", lt_cv),
    )
    domestic = np.flatnonzero(np.array(countries) == "JP")
    overseas = np.flatnonzero(np.array(countries) != "JP")

    counts = _largest_remainder(np.array([c.share for c in CATEGORIES]), spec.n_products)
    prod_rows: list[dict[str, object]] = []
    sku_rows: list[dict[str, object]] = []
    seq = 0
    for ci, (cat, n) in enumerate(zip(CATEGORIES, counts, strict=True)):
        seasons = [k for k, v in SEASONS.items() if v[0] == cat.season] if cat.season else [""]
        for j in range(int(n)):
            seq += 1
            code = f"{cat.code}{seq:05d}"
            season = seasons[j % len(seasons)] if cat.season else ""
            sized = cat.sizes != ("F",)
            if sized:
                n_col = 1 + int(rng.random() < 0.5)
                sup_pool = overseas if (rng.random() < 0.7 and len(overseas)) else domestic
            else:
                n_col = min(1 + int(rng.poisson(3.0)), len(COLOURS))
                sup_pool = domestic if (rng.random() < 0.85 or not len(overseas)) else overseas
            price = float(cat.price) * math.exp(rng.normal(0, 0.25))
            price = max(490, round(price / 100) * 100 - 10)
            case_pack = int(rng.choice(cat.case_packs))
            prod_rows.append(
                {
                    "product_code": code,
                    "category": ci,
                    "season": season,
                    "name": f"{rng.choice(ADJECTIVES)} {rng.choice(cat.nouns)}",
                    "brand": str(rng.choice(BRANDS)),
                    "price": int(price),
                    "cost_ratio": float(rng.uniform(0.3, 0.45)),
                    "supplier": int(rng.choice(sup_pool)),
                    "case_pack": case_pack,
                    "moq": case_pack * int(rng.choice([1, 2])),
                    "popularity": float(rng.lognormal(0.0, 1.7)),
                    "elasticity": float(rng.uniform(-2.6, -0.6)),
                }
            )
            colours = rng.permutation(len(COLOURS))[:n_col]
            for rank, col in enumerate(colours):
                for size in cat.sizes:
                    sku_rows.append(
                        {
                            "product": len(prod_rows) - 1,
                            "sku": f"{code}-{COLOURS[col][0]}-{size}",
                            "color": COLOURS[col][1],
                            "size": size,
                            "weight": SIZE_WEIGHT[size]
                            / (rank + 1) ** 0.7
                            * float(rng.lognormal(0.0, 0.3)),
                            "elastic_noise": float(rng.normal(0.0, 0.15)),
                        }
                    )
    n_prod, n_sku = len(prod_rows), len(sku_rows)
    sku_product = np.array([r["product"] for r in sku_rows], dtype=np.int64)
    prod_cat = np.array([p["category"] for p in prod_rows], dtype=np.int64)
    sku_category = prod_cat[sku_product]
    cat_lo = np.searchsorted(sku_category, np.arange(len(CATEGORIES))).astype(np.int64)
    cat_hi = np.searchsorted(sku_category, np.arange(len(CATEGORIES)), side="right").astype(
        np.int64
    )
    prod_pop = np.array([p["popularity"] for p in prod_rows])
    popularity = prod_pop[sku_product] * np.array([r["weight"] for r in sku_rows])
    elasticity = np.minimum(
        np.array([p["elasticity"] for p in prod_rows])[sku_product]
        + np.array([r["elastic_noise"] for r in sku_rows]),
        -0.2,
    )
    base_price = np.array([p["price"] for p in prod_rows], dtype=np.int64)

    # List prices move a few times in two years; the first price is the reference.
    list_price = np.repeat(base_price[:, None], DAYS, axis=1)
    for i in range(n_prod):
        for day in np.sort(rng.integers(30, DAYS - 30, rng.poisson(1.5))):
            factor = float(rng.choice([0.8, 0.85, 0.9, 1.1, 1.15, 1.2, 1.25]))
            new = max(490, round(list_price[i, day] * factor / 100) * 100 - 10)
            list_price[i, day:] = new
    ref_price = base_price[sku_product].astype(np.float64)

    season_first = np.full(n_prod, -(10**6), dtype=np.int64)
    season_last = np.full(n_prod, 10**6, dtype=np.int64)
    for i, p in enumerate(prod_rows):
        if p["season"]:
            _, first, last = SEASONS[str(p["season"])]
            season_first[i], season_last[i] = _day(first), _day(last)
    seasonal = season_first > -(10**6)

    # Gateway products: popular-enough staples that high-value customers start with.
    staple_idx = np.flatnonzero(~seasonal)
    n_gate = max(2, round(0.05 * n_prod))
    ranked = staple_idx[np.argsort(-prod_pop[staple_idx], kind="stable")]
    pool = ranked[len(ranked) // 10 : len(ranked) // 2 + n_gate]
    gate_products = rng.choice(pool, size=min(n_gate, len(pool)), replace=False)
    gate_prod_mask = np.zeros(n_prod, dtype=np.bool_)
    gate_prod_mask[gate_products] = True

    # Assortment: which products each outlet sells (marketplaces list whole products).
    listed_prod = np.ones((N_OUTLETS, n_prod), dtype=np.bool_)
    for o, share in ((AMAZON, 0.6), (RAKUTEN, 0.85), (YAHOO, 0.7)):
        listed_prod[o] = rng.random(n_prod) < share
    w = np.sqrt(prod_pop) / np.sqrt(prod_pop).sum()
    for o in (4, 5, 6):
        k = max(3, round(n_prod * (0.5 if o == 4 else 0.4)))
        carried = rng.choice(n_prod, size=k, replace=False, p=w)
        listed_prod[o] = False
        listed_prod[o, carried] = True
    listed_prod[:, gate_prod_mask] = True
    listed = listed_prod[:, sku_product]

    supplier = np.array([p["supplier"] for p in prod_rows], dtype=np.int64)
    cost_ratio = np.array([p["cost_ratio"] for p in prod_rows])
    weekdays = ("mon", "tue", "wed", "thu", "fri")
    final_price = list_price[:, -1]
    products = pl.DataFrame(
        {
            "sku": [r["sku"] for r in sku_rows],
            "product_code": [prod_rows[i]["product_code"] for i in sku_product],
            "product_name": [prod_rows[i]["name"] for i in sku_product],
            "jan": _jan(np.arange(1, n_sku + 1)),
            "color": [r["color"] for r in sku_rows],
            "size": [r["size"] for r in sku_rows],
            "category": [CATEGORIES[c].name for c in sku_category],
            "brand": [prod_rows[i]["brand"] for i in sku_product],
            "item_type": ["seasonal" if seasonal[i] else "staple" for i in sku_product],
            "season_start": [
                SEASONS[str(prod_rows[i]["season"])][1] if seasonal[i] else None
                for i in sku_product
            ],
            "season_end": [
                SEASONS[str(prod_rows[i]["season"])][2] if seasonal[i] else None
                for i in sku_product
            ],
            "unit_cost": np.round(base_price * cost_ratio).astype(np.int64)[sku_product],
            "price": final_price[sku_product],
            "tax_rate": [CATEGORIES[c].tax_rate for c in sku_category],
            "price_includes_tax": np.ones(n_sku, dtype=np.bool_),
            "case_pack": np.array([p["case_pack"] for p in prod_rows], dtype=np.int64)[sku_product],
            "moq": np.array([p["moq"] for p in prod_rows], dtype=np.int64)[sku_product],
            "supplier_code": [f"SUP{supplier[i] + 1:03d}" for i in sku_product],
            "review_period_days": np.full(n_sku, REVIEW_DAYS, dtype=np.int64),
            "order_weekdays": [weekdays[order_weekday[supplier[i]]] for i in sku_product],
            "made_to_order": np.zeros(n_sku, dtype=np.bool_),
        }
    ).with_columns(pl.col("season_start", "season_end").cast(pl.Date))
    return Catalogue(
        products=products,
        suppliers=suppliers,
        sku_codes=np.array([r["sku"] for r in sku_rows]),
        sku_product=sku_product,
        sku_category=sku_category,
        cat_lo=cat_lo,
        cat_hi=cat_hi,
        popularity=popularity,
        elasticity=elasticity,
        ref_price=ref_price,
        price=list_price,
        season_first=season_first[sku_product],
        season_last=season_last[sku_product],
        seasonal=seasonal[sku_product],
        supplier=supplier[sku_product],
        case_pack=products["case_pack"].to_numpy().astype(np.int64),
        moq=products["moq"].to_numpy().astype(np.int64),
        gateway=gate_prod_mask[sku_product],
        listed=listed,
        lt_promised=lt_promised,
        lt_mu=lt_mu,
        lt_sigma=lt_sigma,
        order_weekday=order_weekday.astype(np.int64),
        unit_cost=np.round(base_price * cost_ratio).astype(np.int64)[sku_product],
    )


# --- customers and their transactions ----------------------------------------------------


@dataclass(frozen=True)
class Customers:
    home_channel: I64
    home_outlet: I64
    lam: F64
    dropout: F64
    mean_spend: F64
    purchases_until_dropout: I64
    favourite: I64
    value: F64  # E[spend in the next 365 days | alive], BG/NBD × Gamma-Gamma
    prefecture: I64


def _customers(spec: Preset, cat: Catalogue, rng: np.random.Generator) -> Customers:
    n = spec.n_customers
    home_channel = rng.choice(len(CHANNELS), size=n, p=HOME_CHANNEL_SHARE).astype(np.int64)
    store = rng.choice(3, size=n, p=STORE_WEIGHT)
    home_outlet = np.where(home_channel == STORE_POS, 4 + store, home_channel).astype(np.int64)
    lam = rng.gamma(BGNBD_R, 1.0 / BGNBD_ALPHA, n)
    dropout = rng.beta(BGNBD_A, BGNBD_B, n)
    nu = rng.gamma(GG_Q, 1.0 / GG_GAMMA, n)
    mean_spend = GG_P / nu
    # BG/NBD: the first purchase, then J ≥ 1 repeat purchases, the customer dropping out
    # after the J-th (P(J = j) = p(1 − p)^(j−1)); no dropout right after the first.
    k = 1 + rng.geometric(dropout).astype(np.int64)
    cat_weight = np.bincount(cat.sku_category, weights=cat.popularity, minlength=len(CATEGORIES))
    favourite = rng.choice(len(CATEGORIES), size=n, p=cat_weight / cat_weight.sum())
    # Fader, Hardie & Lee (2005a), eq. for E[X(t) | λ, p, alive] = (1 - exp(-λpt)) / p.
    value = mean_spend * (1.0 - np.exp(-lam * dropout * 365.0)) / dropout
    pop = np.array([p for _, p in PREFECTURES])
    pref = rng.choice(len(PREFECTURES), size=n, p=pop / pop.sum())
    near = rng.random(n) < 0.8
    store_pref = np.array(STORE_PREFECTURE)[store]
    pref = np.where((home_channel == STORE_POS) & near, store_pref, pref)
    return Customers(
        home_channel,
        home_outlet,
        lam,
        dropout,
        mean_spend,
        k,
        favourite.astype(np.int64),
        value,
        pref.astype(np.int64),
    )


@dataclass(frozen=True)
class Transactions:
    """Purchase intents sorted by day and time; a customer of -1 is a walk-in."""

    day: I64
    seconds: I64
    customer: I64
    outlet: I64
    spend: F64
    n_lines: I64
    gateway: Bools
    coupon_u: F64
    line_start: I64  # index of each transaction's first line
    line_tx: I64
    line_first: Bools  # the first line of its transaction
    u_affinity: F64
    u_mix: F64
    u_sku: F64
    return_after: I64  # days from sale to return, should a line of it come back
    return_seconds: I64  # time of day of that return
    joined: I64  # per customer: day of the first purchase intent
    tx_lo: I64  # per day: first transaction
    line_lo: I64  # per day: first line


def _transactions(
    spec: Preset, cust: Customers, rate: F64, rng: np.random.Generator
) -> Transactions:
    """Pre-draw every purchase intent (before stockouts cut or lapses cancel any)."""
    n = spec.n_customers
    parts_day, parts_cust, parts_first = [], [], []
    joined = np.zeros(n, dtype=np.int64)
    for ch in range(len(CHANNELS)):
        idx = np.flatnonzero(cust.home_channel == ch)
        cum = np.cumsum(rate[ch])
        total = float(cum[-1])
        tau0 = rng.uniform(0.0, total, idx.size)
        lam = cust.lam[idx]
        bound = np.ceil(lam * total + 6.0 * np.sqrt(lam * total) + 6.0).astype(np.int64)
        n_draw = np.minimum(cust.purchases_until_dropout[idx], bound)
        rep = np.repeat(np.arange(idx.size), n_draw)
        starts = np.concatenate([[0], np.cumsum(n_draw)[:-1]])
        pos = np.arange(rep.size) - starts[rep]
        gaps = rng.exponential(1.0, rep.size) / lam[rep]
        gaps[pos == 0] = 0.0
        cs = np.cumsum(gaps)
        tau = tau0[rep] + cs - cs[starts][rep]
        keep = tau < total
        day = np.minimum(np.searchsorted(cum, tau[keep], side="right"), DAYS - 1)
        parts_day.append(day.astype(np.int64))
        parts_cust.append(idx[rep[keep]])
        parts_first.append(pos[keep] == 0)
        joined[idx] = np.minimum(np.searchsorted(cum, tau0, side="right"), DAYS - 1)
    day = np.concatenate(parts_day)
    customer = np.concatenate(parts_cust)
    first = np.concatenate(parts_first)
    n_known = day.size
    switch = rng.random(n_known) < CHANNEL_SWITCH
    other = rng.integers(0, 3, n_known)  # one of the three online outlets that is not home
    home = cust.home_outlet[customer]
    online = np.array([OWN_WEB, AMAZON, RAKUTEN, YAHOO])
    away = (
        np.array(
            [
                online[online != h][o] if h < 4 else online[o]
                for h, o in zip(home, other, strict=True)
            ],
            dtype=np.int64,
        )
        if n_known
        else home
    )
    outlet = np.where(switch, away, home)
    spend = rng.gamma(GG_P, 1.0, n_known) * cust.mean_spend[customer] / GG_P
    # High-value customers start with a gateway item: P = 0.02 + 0.6 · (value quantile)^4.
    quantile = np.argsort(np.argsort(cust.value)) / max(1, n - 1)
    gateway = first & (rng.random(n_known) < 0.02 + 0.6 * quantile[customer] ** 4)

    # Walk-ins at the stores.
    anon_days, anon_outlets = [], []
    for s in range(3):
        lam_day = spec.anonymous_per_day * STORE_WEIGHT[s] * rate[STORE_POS]
        k = rng.poisson(lam_day)
        anon_days.append(np.repeat(np.arange(DAYS), k))
        anon_outlets.append(np.full(int(k.sum()), 4 + s, dtype=np.int64))
    a_day = np.concatenate(anon_days)
    n_anon = a_day.size
    day = np.concatenate([day, a_day])
    customer = np.concatenate([customer, np.full(n_anon, -1, dtype=np.int64)])
    outlet = np.concatenate([outlet, np.concatenate(anon_outlets)])
    spend = np.concatenate([spend, rng.gamma(GG_P, ANONYMOUS_SPEND / GG_P, n_anon)])
    gateway = np.concatenate([gateway, np.zeros(n_anon, dtype=np.bool_)])
    n_tx = day.size
    is_store = outlet >= 4
    hour_on = rng.choice(24, size=n_tx, p=HOURS_ONLINE / HOURS_ONLINE.sum())
    hour_st = rng.choice(24, size=n_tx, p=HOURS_STORE / HOURS_STORE.sum())
    seconds = np.where(is_store, hour_st, hour_on) * 3600 + rng.integers(0, 3600, n_tx)
    n_lines = np.minimum(1 + rng.poisson(0.45, n_tx), 5).astype(np.int64)
    coupon_u = rng.random(n_tx)

    order = np.lexsort((seconds, day))
    day, seconds, customer, outlet = day[order], seconds[order], customer[order], outlet[order]
    spend, n_lines, gateway, coupon_u = (
        spend[order],
        n_lines[order],
        gateway[order],
        coupon_u[order],
    )
    line_start = np.concatenate([[0], np.cumsum(n_lines)[:-1]]).astype(np.int64)
    line_tx = np.repeat(np.arange(n_tx), n_lines)
    n_line = line_tx.size
    line_first = np.zeros(n_line, dtype=np.bool_)
    line_first[line_start] = True
    tx_lo = np.searchsorted(day, np.arange(DAYS + 1)).astype(np.int64)
    line_lo = np.append(line_start, n_line)[tx_lo]
    return Transactions(
        day=day,
        seconds=seconds.astype(np.int64),
        customer=customer,
        outlet=outlet,
        spend=spend,
        n_lines=n_lines,
        gateway=gateway,
        coupon_u=coupon_u,
        line_start=line_start,
        line_tx=line_tx,
        line_first=line_first,
        u_affinity=rng.random(n_line),
        u_mix=rng.random(n_line),
        u_sku=rng.random(n_line),
        return_after=rng.integers(3, 15, n_tx),
        return_seconds=np.where(
            outlet >= 4, rng.integers(10 * 3600, 20 * 3600, n_tx), rng.integers(0, 86400, n_tx)
        ),
        joined=joined,
        tx_lo=tx_lo,
        line_lo=line_lo.astype(np.int64),
    )


# --- the day-by-day walk -----------------------------------------------------------------


@dataclass
class DayDemand:
    """One day's order-line intents after SKU choice, before stock."""

    tx: I64  # global transaction index of each line
    line: I64  # global line index
    outlet: I64
    sku: I64
    category: I64
    wanted: I64
    price: I64
    discount_pct: F64
    campaign: I64  # -1: none
    coupon: Bools
    expected: F64  # (location × SKU): expected units today, for the buyer's forecast


class Walker:
    """Shared state of the walk: the day's SKU weights and the campaign lookups."""

    def __init__(
        self, cat: Catalogue, cust: Customers, tx: Transactions, campaigns: list[Campaign]
    ) -> None:
        self.cat, self.cust, self.tx, self.campaigns = cat, cust, tx, campaigns
        self.n_sku = cat.sku_codes.size
        self.n_cat = len(CATEGORIES)
        self.covered: list[Bools] = []
        for c in campaigns:
            if c.kind == "markdown":
                mask = cat.seasonal & (cat.season_last == c.last)
            elif c.coverage >= 1.0:
                mask = np.ones(self.n_sku, dtype=np.bool_)
            else:
                # Covered SKUs are whole products, drawn from the campaign's own stream.
                r = np.random.default_rng(_stable(c.code))
                mask = (r.random(int(cat.sku_product.max()) + 1) < c.coverage)[cat.sku_product]
            self.covered.append(mask)
        self.active_by_day: list[list[int]] = [[] for _ in range(DAYS)]
        for i, c in enumerate(campaigns):
            for d in range(max(0, c.first), min(DAYS - 1, c.last) + 1):
                self.active_by_day[d].append(i)

    def in_season(self, d: int) -> Bools:
        return (self.cat.season_first <= d) & (d <= self.cat.season_last)

    def demand(self, d: int, alive: Bools | None) -> DayDemand:
        cat, tx = self.cat, self.tx
        lo, hi = int(tx.line_lo[d]), int(tx.line_lo[d + 1])
        line = np.arange(lo, hi)
        t = tx.line_tx[line]
        if alive is not None:
            c = tx.customer[t]
            keep = (c < 0) | alive[np.maximum(c, 0)]
            line, t = line[keep], t[keep]
        outlet = tx.outlet[t]

        # Price and campaign discount per channel today.
        price_today = cat.price[cat.sku_product, d]
        disc = np.zeros((len(CHANNELS), self.n_sku))
        camp = np.full((len(CHANNELS), self.n_sku), -1, dtype=np.int64)
        coupon: tuple[int, float] | None = None
        for i in self.active_by_day[d]:
            running = self.campaigns[i]
            if running.kind == "coupon":
                coupon = (i, running.discount_pct)
                continue
            rows = range(len(CHANNELS)) if running.channel < 0 else [running.channel]
            for ch in rows:
                take = self.covered[i] & (running.discount_pct >= disc[ch])
                disc[ch, take] = running.discount_pct
                camp[ch, take] = i
        in_season = self.in_season(d)
        frac = np.clip(
            (d - cat.season_first) / np.maximum(1, cat.season_last - cat.season_first), 0.0, 1.0
        )
        season_factor = np.where(cat.seasonal, 0.4 + 1.2 * np.sin(np.pi * frac), 1.0)
        base = cat.popularity * season_factor * in_season
        weight = np.empty((N_OUTLETS, self.n_sku))
        for o in range(N_OUTLETS):
            ch = OUTLET_CHANNEL[o]
            effective = price_today * (1.0 - disc[ch] / 100.0)
            weight[o] = base * np.exp(cat.elasticity * np.log(effective / cat.ref_price))
            weight[o] *= cat.listed[o]
        cum = np.cumsum(weight, axis=1)
        before = np.concatenate([np.zeros((N_OUTLETS, 1)), cum], axis=1)
        cat_total = before[:, cat.cat_hi] - before[:, cat.cat_lo]

        n = line.size
        category = np.full(n, -1, dtype=np.int64)
        sku = np.full(n, -1, dtype=np.int64)
        expected_lines = np.zeros((N_OUTLETS, self.n_sku))
        fav = np.where(tx.customer[t] >= 0, self.cust.favourite[np.maximum(tx.customer[t], 0)], -1)
        gate_line = tx.gateway[t] & tx.line_first[line]
        for o in range(N_OUTLETS):
            m = np.flatnonzero(outlet == o)
            if m.size == 0:
                continue
            tot = cat_total[o]
            if tot.sum() <= 0:
                continue
            f = fav[m]
            use_fav = (tx.u_affinity[line[m]] < AFFINITY) & (f >= 0)
            use_fav &= tot[np.maximum(f, 0)] > 0
            mix = np.cumsum(tot) / tot.sum()
            drawn = np.searchsorted(mix, tx.u_mix[line[m]] * (1 - 1e-12), side="right")
            c = np.where(use_fav, f, np.minimum(drawn, self.n_cat - 1))
            target = before[o, cat.cat_lo[c]] + tx.u_sku[line[m]] * (1 - 1e-9) * tot[c]
            s = np.searchsorted(cum[o], target, side="right")
            s = np.clip(s, cat.cat_lo[c], cat.cat_hi[c] - 1)
            g = gate_line[m]
            if g.any():
                gw = np.cumsum(weight[o] * cat.gateway)
                if gw[-1] > 0:
                    pick = np.searchsorted(
                        gw, tx.u_sku[line[m][g]] * (1 - 1e-9) * gw[-1], side="right"
                    )
                    s[g] = np.minimum(pick, self.n_sku - 1)
                    c[g] = cat.sku_category[s[g]]
            category[m], sku[m] = c, s
            # Expected units: lines per category × the SKU's share of its category.
            counts = np.bincount(c, minlength=self.n_cat).astype(np.float64)
            share = np.divide(
                weight[o],
                tot[cat.sku_category],
                out=np.zeros(self.n_sku),
                where=tot[cat.sku_category] > 0,
            )
            expected_lines[o] = counts[cat.sku_category] * share
        ok = (sku >= 0) & (weight[outlet, np.maximum(sku, 0)] > 0)
        line, t, outlet, sku, category = line[ok], t[ok], outlet[ok], sku[ok], category[ok]
        line_ch = OUTLET_CHANNEL[outlet]
        d_pct = disc[line_ch, sku]
        c_idx = camp[line_ch, sku]
        use_coupon = np.zeros(line.size, dtype=np.bool_)
        if coupon is not None:
            use_coupon = (line_ch == OWN_WEB) & (tx.coupon_u[t] < COUPON_USE) & (coupon[1] > d_pct)
            d_pct = np.where(use_coupon, coupon[1], d_pct)
            c_idx = np.where(use_coupon, coupon[0], c_idx)
        p = price_today[sku]
        # Units follow spend at the reference price, so price moves demand only through ε.
        wanted = np.clip(
            np.rint(tx.spend[t] / (tx.n_lines[t] * cat.ref_price[sku])), 1, MAX_QUANTITY
        )
        # Expected units: expected lines × the outlet's mean units per line today.
        per_outlet = np.bincount(outlet, minlength=N_OUTLETS)
        units = np.bincount(outlet, weights=wanted, minlength=N_OUTLETS)
        mean_units = np.divide(units, per_outlet, out=np.ones(N_OUTLETS), where=per_outlet > 0)
        expected = np.zeros((len(LOCATIONS), self.n_sku))
        np.add.at(expected, OUTLET_LOCATION, expected_lines * mean_units[:, None])
        return DayDemand(
            tx=t,
            line=line,
            outlet=outlet,
            sku=sku,
            category=category,
            wanted=wanted.astype(np.int64),
            price=p.astype(np.int64),
            discount_pct=d_pct,
            campaign=c_idx,
            coupon=use_coupon,
            expected=expected.ravel(),
        )


def _stable(text: str) -> int:
    """A seed from a string that does not depend on Python's hash randomisation."""
    return int.from_bytes(text.encode("utf-8"), "little") % (2**63)


@dataclass
class Ledger:
    """Everything the walk records, as lists of per-day arrays."""

    lines: dict[str, list[npt.NDArray[np.generic]]]
    po: dict[str, list[npt.NDArray[np.generic]]]
    receipts: dict[str, list[npt.NDArray[np.generic]]]
    returns: dict[str, list[npt.NDArray[np.generic]]]
    notices: dict[str, list[npt.NDArray[np.generic]]]
    stockouts: dict[str, list[npt.NDArray[np.generic]]]
    lapse_day: I64
    initial: I64
    on_hand: I64
    first_active: I64
    last_active: I64
    assorted: Bools


def _cat(parts: dict[str, list[npt.NDArray[np.generic]]]) -> dict[str, npt.NDArray[np.generic]]:
    return {k: (np.concatenate(v) if v else np.zeros(0, dtype=np.int64)) for k, v in parts.items()}


def _location_uplift(uplift: F64) -> F64:
    """(location, day) campaign lift of a location's demand, padded with 1 past the end.

    A location's lift is the mean of its channels' lifts weighted by their share of
    customers; the buyer knows the campaign calendar, as a seller's buyer does.
    """
    feeds = np.zeros((len(LOCATIONS), len(CHANNELS)))
    for o in range(N_OUTLETS):
        ch = OUTLET_CHANNEL[o]
        feeds[OUTLET_LOCATION[o], ch] = HOME_CHANNEL_SHARE[ch]
    feeds /= feeds.sum(axis=1, keepdims=True)
    return np.concatenate([feeds @ uplift, np.ones((len(LOCATIONS), 200))], axis=1)


def _simulate(
    cat: Catalogue,
    cust: Customers,
    tx: Transactions,
    campaigns: list[Campaign],
    cal: Calendar,
    uplift: F64,
    rng: np.random.Generator,
    bar: Progress,
    task: TaskID,
) -> Ledger:
    walker = Walker(cat, cust, tx, campaigns)
    n_sku, n_loc = walker.n_sku, len(LOCATIONS)
    n_key = n_sku * n_loc
    key_sku = np.tile(np.arange(n_sku), n_loc)
    key_loc = np.repeat(np.arange(n_loc), n_sku)
    assorted = np.zeros((n_loc, n_sku), dtype=np.bool_)
    for o in range(N_OUTLETS):
        assorted[OUTLET_LOCATION[o]] |= cat.listed[o]
    assorted_k = assorted.ravel()
    first_active = np.where(assorted_k, np.maximum(0, cat.season_first[key_sku]), DAYS)
    last_active = np.where(assorted_k, np.minimum(DAYS - 1, cat.season_last[key_sku]), -1)
    sup = cat.supplier[key_sku]
    lead = cat.lt_promised[sup].astype(np.float64)
    case_pack, moq = cat.case_pack[key_sku], cat.moq[key_sku]
    season_end = cat.season_last[key_sku]
    loc_lift = _location_uplift(uplift)
    lift_cum = np.concatenate([np.zeros((len(LOCATIONS), 1)), np.cumsum(loc_lift, axis=1)], axis=1)
    span = lead.astype(np.int64) + REVIEW_DAYS

    # The buyer's plan: expected demand over the first four active weeks of each key.
    plan_sum = np.zeros(n_key)
    plan_days = sorted(
        {
            d
            for f in np.unique(first_active[first_active < DAYS])
            for d in range(int(f), min(DAYS, int(f) + 28))
        }
    )
    for d in plan_days:
        exp = walker.demand(d, None).expected / loc_lift[key_loc, d]
        inside = (first_active <= d) & (d < first_active + 28)
        plan_sum += np.where(inside, exp, 0.0)
    plan_rate = plan_sum / 28.0

    def levels(mu: F64, d: int) -> tuple[F64, F64]:
        """(s, S) over the protection interval L + R, lifted by the campaigns inside it."""
        lift = (lift_cum[key_loc, d + 1 + span] - lift_cum[key_loc, d + 1]) / span
        demand = mu * lift * span
        s = demand + POLICY_Z * np.sqrt(POLICY_DISPERSION * demand)
        return s, s + mu * lift * REVIEW_DAYS

    mu = np.where(first_active == 0, plan_rate, 0.0)
    on_hand = np.zeros(n_key, dtype=np.int64)
    _, top = levels(mu, 0)
    start = (first_active == 0) & assorted_k
    on_hand[start] = np.ceil(top[start] * rng.uniform(0.6, 1.1, int(start.sum()))).astype(np.int64)
    initial = on_hand.copy()
    on_order = np.zeros(n_key, dtype=np.int64)
    preseason = np.where(
        assorted_k & (first_active > 0), np.maximum(0, first_active - lead.astype(np.int64) - 7), -1
    )
    arrivals: dict[int, list[tuple[I64, I64]]] = {}
    back: dict[int, list[tuple[I64, I64]]] = {}
    lapse_day = np.full(cust.lam.size, DAYS + 1, dtype=np.int64)
    led = Ledger(
        lines={
            k: []
            for k in (
                "tx",
                "day",
                "outlet",
                "sku",
                "wanted",
                "sold",
                "price",
                "discount_pct",
                "campaign",
                "coupon",
                "category",
            )
        },
        po={k: [] for k in ("po", "key", "qty", "day", "promised", "supplier", "loc")},
        receipts={k: [] for k in ("po", "key", "day", "qty")},
        returns={k: [] for k in ("sale", "day", "qty", "seconds")},
        notices={k: [] for k in ("customer", "key", "channel", "day", "seconds")},
        stockouts={k: [] for k in ("key", "day")},
        lapse_day=lapse_day,
        initial=initial,
        on_hand=on_hand,
        first_active=first_active,
        last_active=last_active,
        assorted=assorted_k,
    )
    n_sales = 0
    n_po = 0
    return_rate = np.array([c.return_rate for c in CATEGORIES])
    for d in range(DAYS):
        for keys, qty in arrivals.pop(d, []):
            np.add.at(on_hand, keys, qty)
            np.subtract.at(on_order, keys, qty)
        for keys, qty in back.pop(d, []):
            np.add.at(on_hand, keys, qty)
        starting = first_active == d
        if d > 0 and starting.any():
            mu[starting] = plan_rate[starting]

        dem = walker.demand(d, lapse_day >= d)
        key = OUTLET_LOCATION[dem.outlet] * n_sku + dem.sku
        secs = tx.seconds[dem.tx]
        order = np.lexsort((secs, key))
        k_s, q_s = key[order], dem.wanted[order]
        cs = np.cumsum(q_s)
        new = np.ones(k_s.size, dtype=np.bool_)
        new[1:] = k_s[1:] != k_s[:-1]
        grp = np.cumsum(new) - 1
        before = (cs - q_s)[new][grp]
        prior = cs - q_s - before
        sold_s = np.clip(on_hand[k_s] - prior, 0, q_s)
        sold = np.empty_like(sold_s)
        sold[order] = sold_s
        np.subtract.at(on_hand, key, sold)

        short = sold < dem.wanted
        if short.any():
            who = tx.customer[dem.tx[short]]
            known = np.unique(who[who >= 0])
            known = known[lapse_day[known] > DAYS]
            lapsing = known[rng.random(known.size) < LAPSE_PROBABILITY]
            lapse_day[lapsing] = d
            ch = OUTLET_CHANNEL[dem.outlet[short]]
            sign = (who >= 0) & np.isin(ch, NOTICE_CHANNELS)
            sign &= rng.random(who.size) < RESTOCK_SIGNUP_PROBABILITY
            led.notices["customer"].append(who[sign])
            led.notices["key"].append(key[short][sign])
            led.notices["channel"].append(ch[sign])
            led.notices["day"].append(np.full(int(sign.sum()), d))
            led.notices["seconds"].append(secs[short][sign])

        for name, value in (
            ("tx", dem.tx),
            ("outlet", dem.outlet),
            ("sku", dem.sku),
            ("wanted", dem.wanted),
            ("sold", sold),
            ("price", dem.price),
            ("discount_pct", dem.discount_pct),
            ("campaign", dem.campaign),
            ("coupon", dem.coupon),
            ("category", dem.category),
        ):
            led.lines[name].append(value)
        led.lines["day"].append(np.full(sold.size, d))

        sold_idx = np.flatnonzero(sold > 0)
        ret = sold_idx[rng.random(sold_idx.size) < return_rate[dem.category[sold_idx]]]
        if ret.size:
            when = d + tx.return_after[dem.tx[ret]]
            inside = when < DAYS
            ret, when = ret[inside], when[inside]
            led.returns["sale"].append(n_sales + ret)
            led.returns["day"].append(when)
            led.returns["qty"].append(sold[ret])
            led.returns["seconds"].append(tx.return_seconds[dem.tx[ret]])
            for w in np.unique(when):
                m = when == w
                back.setdefault(int(w), []).append((key[ret[m]], sold[ret[m]]))
        n_sales += sold.size

        active = (first_active <= d) & (d <= last_active)
        out = np.flatnonzero(active & (on_hand == 0))
        led.stockouts["key"].append(out)
        led.stockouts["day"].append(np.full(out.size, d))

        # The buyer: forecast, then order on each supplier's weekday.
        # The forecast is of base demand: today's expectation without today's campaign lift.
        base = dem.expected / loc_lift[key_loc, d]
        mu = np.where(active, (1 - FORECAST_ALPHA) * mu + FORECAST_ALPHA * base, mu)
        s, top = levels(mu, d)
        position = on_hand + on_order
        today = cat.order_weekday[sup] == cal.weekday[d]
        orderable = active & (d + lead + 7 <= season_end) & today & (position < s)
        qty = np.where(orderable, np.maximum(np.ceil(top - position), moq), 0)
        pre = preseason == d
        if pre.any():
            _, pre_top = levels(plan_rate, d)
            qty = np.where(pre, np.maximum(np.ceil(pre_top + plan_rate * 14), moq), qty)
        qty = (np.ceil(qty / case_pack) * case_pack).astype(np.int64)
        ordering = np.flatnonzero(qty > 0)
        if ordering.size:
            n_po = _place_orders(
                d, ordering, qty[ordering], sup, key_loc, cat, rng, n_po, led, arrivals
            )
            np.add.at(on_order, ordering, qty[ordering])
        bar.advance(task)
    return led


def _place_orders(
    d: int,
    keys: I64,
    qty: I64,
    sup: I64,
    key_loc: I64,
    cat: Catalogue,
    rng: np.random.Generator,
    n_po: int,
    led: Ledger,
    arrivals: dict[int, list[tuple[I64, I64]]],
) -> int:
    """One PO per supplier × location; real lead time per PO, some lines in two parts."""
    group = sup[keys] * len(LOCATIONS) + key_loc[keys]
    uniq, inverse = np.unique(group, return_inverse=True)
    po = n_po + inverse
    g_sup = uniq // len(LOCATIONS)
    lead = np.maximum(1, np.rint(rng.lognormal(cat.lt_mu[g_sup], cat.lt_sigma[g_sup]))).astype(
        np.int64
    )
    arrive = d + lead[inverse]
    led.po["po"].append(po)
    led.po["key"].append(keys)
    led.po["qty"].append(qty)
    led.po["day"].append(np.full(keys.size, d))
    led.po["promised"].append(d + cat.lt_promised[sup[keys]])
    led.po["supplier"].append(sup[keys])
    led.po["loc"].append(key_loc[keys])
    split = (rng.random(keys.size) < PARTIAL_RECEIPT) & (qty >= 2)
    first_qty = np.where(
        split, np.maximum(1, np.floor(qty * rng.uniform(0.4, 0.9, keys.size))), qty
    ).astype(np.int64)
    rest_day = arrive + rng.integers(2, 11, keys.size)
    parts = [
        (arrive, first_qty, np.ones(keys.size, dtype=np.bool_)),
        (rest_day, qty - first_qty, split),
    ]
    for when, q, part in parts:
        m = part & (when < DAYS)
        led.receipts["po"].append(po[m])
        led.receipts["key"].append(keys[m])
        led.receipts["day"].append(when[m])
        led.receipts["qty"].append(q[m])
        for w in np.unique(when[m]):
            sel = m & (when == w)
            arrivals.setdefault(int(w), []).append((keys[sel], q[sel]))
    return n_po + int(uniq.size)


# --- frames ------------------------------------------------------------------------------


def _dates(days: npt.NDArray[np.generic]) -> pl.Series:
    return pl.Series(np.asarray(days, dtype=np.int32) + EPOCH_OFFSET).cast(pl.Date)


def _datetimes(days: npt.NDArray[np.generic], seconds: npt.NDArray[np.generic]) -> pl.Series:
    micros = (
        (np.asarray(days, dtype=np.int64) + EPOCH_OFFSET) * 86400
        + np.asarray(seconds, dtype=np.int64)
    ) * 1_000_000
    return pl.Series(micros).cast(pl.Datetime("us"))


def _take(values: list[str] | Texts, idx: npt.NDArray[np.generic]) -> pl.Series:
    return pl.Series(list(values), dtype=pl.String).gather(pl.Series(np.asarray(idx)))


def _frames(
    spec: Preset,
    cal: Calendar,
    cat: Catalogue,
    cust: Customers,
    tx: Transactions,
    campaigns: list[Campaign],
    rate: F64,
    uplift: F64,
    led: Ledger,
) -> tuple[dict[str, pl.DataFrame], dict[str, pl.DataFrame]]:
    n_sku = cat.sku_codes.size
    skus = list(cat.sku_codes)
    loc_codes = [loc[0] for loc in LOCATIONS]
    ch_codes = [c[0] for c in CHANNELS]
    camp_codes = [c.code for c in campaigns]
    cust_codes = [f"C{i + 1:07d}" for i in range(spec.n_customers)]

    channels = pl.DataFrame(
        {
            "channel_code": ch_codes,
            "name": [c[1] for c in CHANNELS],
            "kind": [c[2] for c in CHANNELS],
        }
    )
    locations = pl.DataFrame(
        {
            "location_code": loc_codes,
            "name": [loc[1] for loc in LOCATIONS],
            "kind": [loc[2] for loc in LOCATIONS],
            "prefecture": [loc[3] for loc in LOCATIONS],
            "channel_code": [loc[4] for loc in LOCATIONS],
        },
        schema_overrides={"channel_code": pl.String},
    )
    listing_parts = []
    for o, prefix in ((AMAZON, "amazon"), (RAKUTEN, "rakuten"), (YAHOO, "yahoo")):
        idx = np.flatnonzero(cat.listed[o])
        if prefix == "amazon":
            # An affine bijection mod 36^8 scatters ASINs and keeps them unique.
            nums = (np.arange(idx.size, dtype=np.int64) * 2_654_435_761 + 99_991) % 36**8
            ext = ["B0" + np.base_repr(int(v), 36).rjust(8, "0") for v in nums]
        elif prefix == "rakuten":
            ext = [f"soko-{s.lower()}" for s in cat.sku_codes[idx]]
        else:
            ext = [f"y{s.lower().replace('-', '')}" for s in cat.sku_codes[idx]]
        listing_parts.append(
            pl.DataFrame(
                {
                    "channel_code": [prefix] * idx.size,
                    "external_id": ext,
                    "sku": list(cat.sku_codes[idx]),
                },
                schema={"channel_code": pl.String, "external_id": pl.String, "sku": pl.String},
            )
        )
    listings = pl.concat(listing_parts)

    joined_days = tx.joined
    customers = pl.DataFrame(
        {
            "customer_id": cust_codes,
            "joined_on": _dates(joined_days),
            "prefecture": _take([p for p, _ in PREFECTURES], cust.prefecture),
            "country": ["JP"] * spec.n_customers,
        }
    )

    campaign_frame = pl.DataFrame(
        {
            "campaign_code": camp_codes,
            "name": [c.name for c in campaigns],
            "kind": [c.kind for c in campaigns],
            "channel_code": [ch_codes[c.channel] if c.channel >= 0 else None for c in campaigns],
            "starts_on": _dates(np.array([c.first for c in campaigns])),
            "ends_on": _dates(np.array([c.last for c in campaigns])),
            "discount_pct": [c.discount_pct for c in campaigns],
            "coupon_code": [c.coupon_code for c in campaigns],
        },
        schema_overrides={"channel_code": pl.String, "coupon_code": pl.String},
    )
    walker_cov = Walker(cat, cust, tx, campaigns).covered
    cs_rows: list[tuple[str, str]] = []
    for c, mask in zip(campaigns, walker_cov, strict=True):
        if c.coverage < 1.0:
            cs_rows.extend((c.code, skus[i]) for i in np.flatnonzero(mask))
    campaign_skus = pl.DataFrame(
        cs_rows, schema={"campaign_code": pl.String, "sku": pl.String}, orient="row"
    )

    # Order lines: sales that sold at least one unit, then returns.
    lines = _cat(led.lines)
    sold_mask = np.asarray(lines["sold"], dtype=np.int64) > 0
    t = np.asarray(lines["tx"], dtype=np.int64)
    tx_sold = np.unique(t[sold_mask])
    order_no = np.full(tx.day.size, -1, dtype=np.int64)
    tx_channel = OUTLET_CHANNEL[tx.outlet]
    for ch in range(len(CHANNELS)):
        m = tx_sold[tx_channel[tx_sold] == ch]
        order_no[m] = np.arange(1, m.size + 1)
    order_ids = _order_ids(tx_channel, order_no, tx.day, tx.outlet)
    sale_rows = np.flatnonzero(sold_mask)
    ret = _cat(led.returns)
    ret_sale = np.asarray(ret["sale"], dtype=np.int64)
    all_idx = np.concatenate([sale_rows, ret_sale])
    is_ret = np.concatenate(
        [np.zeros(sale_rows.size, dtype=np.bool_), np.ones(ret_sale.size, dtype=np.bool_)]
    )
    qty = np.concatenate([lines["sold"][sale_rows], ret["qty"]]).astype(np.int64)
    tx_i = t[all_idx]
    price = np.asarray(lines["price"], dtype=np.int64)[all_idx]
    pct = np.asarray(lines["discount_pct"], dtype=np.float64)[all_idx]
    camp_idx = np.asarray(lines["campaign"], dtype=np.int64)[all_idx]
    coupon_flag = np.asarray(lines["coupon"], dtype=np.bool_)[all_idx]
    day = np.concatenate([lines["day"][sale_rows], ret["day"]]).astype(np.int64)
    secs = np.concatenate([tx.seconds[t[sale_rows]], ret["seconds"]]).astype(np.int64)
    cust_i = tx.customer[tx_i]
    base_id = order_ids.gather(pl.Series(tx_i))
    coupon_codes = [c.coupon_code for c in campaigns]
    order_lines = (
        pl.DataFrame(
            {
                "order_id": base_id,
                "channel_code": _take(ch_codes, tx_channel[tx_i]),
                "location_code": _take(loc_codes, OUTLET_LOCATION[tx.outlet[tx_i]]),
                "customer_id": _take(cust_codes, np.maximum(cust_i, 0)),
                "ordered_at": _datetimes(day, secs),
                "sku": _take(skus, np.asarray(lines["sku"], dtype=np.int64)[all_idx]),
                "quantity": qty,
                "unit_price": price,
                "discount": np.rint(price * qty * pct / 100.0).astype(np.int64),
                "coupon_code": _take([c or "" for c in coupon_codes], np.maximum(camp_idx, 0)),
                "campaign_code": _take(camp_codes, np.maximum(camp_idx, 0)),
                "kind": np.where(is_ret, "return", "sale"),
                "returned_order_id": base_id,
                "_anon": cust_i < 0,
                "_camp": camp_idx < 0,
                "_coupon": ~coupon_flag,
                "_ret": is_ret,
            }
        )
        .with_columns(
            pl.when(pl.col("_ret"))
            .then(pl.col("order_id") + "-R")
            .otherwise(pl.col("order_id"))
            .alias("order_id"),
            pl.when(pl.col("_anon"))
            .then(None)
            .otherwise(pl.col("customer_id"))
            .alias("customer_id"),
            pl.when(pl.col("_camp") | pl.col("_ret"))
            .then(None)
            .otherwise(pl.col("campaign_code"))
            .alias("campaign_code"),
            pl.when(pl.col("_coupon") | pl.col("_ret"))
            .then(None)
            .otherwise(pl.col("coupon_code"))
            .alias("coupon_code"),
            pl.when(pl.col("_ret"))
            .then(pl.col("returned_order_id"))
            .otherwise(None)
            .alias("returned_order_id"),
        )
        .drop("_anon", "_camp", "_coupon", "_ret")
        .sort("ordered_at", "order_id", maintain_order=True)
    )

    def key_sku(k: npt.NDArray[np.generic]) -> I64:
        return np.asarray(k, dtype=np.int64) % n_sku

    def key_loc(k: npt.NDArray[np.generic]) -> I64:
        return np.asarray(k, dtype=np.int64) // n_sku

    end_at = _datetimes(np.array([DAYS - 1]), np.array([21 * 3600]))[0]
    stocked = np.flatnonzero(led.assorted)
    stock = pl.DataFrame(
        {
            "sku": _take(skus, key_sku(stocked)),
            "location_code": _take(loc_codes, key_loc(stocked)),
            "on_hand": led.on_hand[stocked],
        }
    ).with_columns(pl.lit(end_at).alias("counted_at"))

    po = _cat(led.po)
    sup_codes = cat.suppliers["supplier_code"].to_list()
    purchase_orders = pl.DataFrame(
        {
            "po_number": _po_numbers(po["po"]),
            "supplier_code": _take(sup_codes, po["supplier"]),
            "location_code": _take(loc_codes, po["loc"]),
            "ordered_on": _dates(po["day"]),
            "sku": _take(skus, key_sku(po["key"])),
            "quantity": np.asarray(po["qty"], dtype=np.int64),
            "unit_cost": cat.unit_cost[key_sku(po["key"])],
            "promised_on": _dates(po["promised"]),
        },
        schema_overrides={"po_number": pl.String},
    )
    rec = _cat(led.receipts)
    receipts = pl.DataFrame(
        {
            "po_number": _po_numbers(rec["po"]),
            "sku": _take(skus, key_sku(rec["key"])),
            "received_on": _dates(rec["day"]),
            "quantity": np.asarray(rec["qty"], dtype=np.int64),
        },
        schema_overrides={"po_number": pl.String},
    ).sort("received_on", "po_number", "sku")

    # Restock notices: told on the first receipt at that location after signing up.
    nt = _cat(led.notices)
    notices = pl.DataFrame(
        {
            "key": np.asarray(nt["key"], dtype=np.int64),
            "day": np.asarray(nt["day"], dtype=np.int64),
            "customer": np.asarray(nt["customer"], dtype=np.int64),
            "channel": np.asarray(nt["channel"], dtype=np.int64),
            "seconds": np.asarray(nt["seconds"], dtype=np.int64),
        }
    )
    back = (
        pl.DataFrame(
            {
                "key": np.asarray(rec["key"], dtype=np.int64),
                "back": np.asarray(rec["day"], dtype=np.int64),
            }
        )
        .unique()
        .sort("back")
    )
    notices = (
        notices.with_columns((pl.col("day") + 1).alias("after"))
        .sort("after")
        .join_asof(
            back,
            left_on="after",
            right_on="back",
            by="key",
            strategy="forward",
            check_sortedness=False,
        )
        .sort("day", "seconds", "customer", "key")
    )
    restock_notices = (
        pl.DataFrame(
            {
                "customer_id": _take(cust_codes, notices["customer"].to_numpy()),
                "sku": _take(skus, key_sku(notices["key"].to_numpy())),
                "channel_code": _take(ch_codes, notices["channel"].to_numpy()),
                "signed_up_at": _datetimes(
                    notices["day"].to_numpy(), notices["seconds"].to_numpy()
                ),
                "notified_at": _datetimes(
                    notices["back"].fill_null(0).to_numpy(), np.full(notices.height, 10 * 3600)
                ),
                "_none": notices["back"].is_null(),
            }
        )
        .with_columns(
            pl.when(pl.col("_none"))
            .then(None)
            .otherwise(pl.col("notified_at"))
            .alias("notified_at")
        )
        .drop("_none")
    )

    tables = {
        "suppliers": cat.suppliers.drop("_mean", "_cv"),
        "products": cat.products,
        "locations": locations,
        "channels": channels,
        "listings": listings,
        "customers": customers,
        "campaigns": campaign_frame,
        "campaign_skus": campaign_skus,
        "order_lines": order_lines,
        "stock": stock,
        "purchase_orders": purchase_orders,
        "receipts": receipts,
        "restock_notices": restock_notices,
    }
    truth = _truth(
        spec,
        cal,
        cat,
        cust,
        tx,
        campaigns,
        rate,
        uplift,
        led,
        lines,
        skus,
        loc_codes,
        ch_codes,
        cust_codes,
    )
    return tables, truth


def _po_numbers(po: npt.NDArray[np.generic]) -> pl.Series:
    n = pl.Series(np.asarray(po, dtype=np.int64) + 1)
    return ("PO" + n.cast(pl.String).str.zfill(7)).rename("po_number")


def _order_ids(channel: I64, number: I64, day: I64, outlet: I64) -> pl.Series:
    """Order numbers in each channel's own style (Amazon 3-7-7, Rakuten shop-date-serial)."""
    frame = pl.DataFrame({"ch": channel, "n": number, "date": _dates(day), "store": outlet - 4})
    amazon_a = (frame["n"] * 7919 + 1_234_567) % 10_000_000
    amazon_b = (frame["n"] * 104_729 + 7_654_321) % 10_000_000
    frame = frame.with_columns(amazon_a.alias("a"), amazon_b.alias("b"))
    n = pl.col("n").cast(pl.String)
    ymd = pl.col("date").dt.strftime("%Y%m%d")
    return frame.select(
        pl.when(pl.col("ch") == OWN_WEB)
        .then(pl.lit("W") + n.str.zfill(8))
        .when(pl.col("ch") == AMAZON)
        .then(
            pl.lit("503-")
            + pl.col("a").cast(pl.String).str.zfill(7)
            + "-"
            + pl.col("b").cast(pl.String).str.zfill(7)
        )
        .when(pl.col("ch") == RAKUTEN)
        .then(pl.lit("295821-") + ymd + "-" + n.str.zfill(8))
        .when(pl.col("ch") == YAHOO)
        .then(pl.lit("soko-") + (pl.col("n") + 10_000).cast(pl.String))
        .otherwise(
            pl.lit("POS") + pl.col("store").cast(pl.String) + "-" + ymd + "-" + n.str.zfill(7)
        )
        .alias("order_id")
    )["order_id"]


def _truth(
    spec: Preset,
    cal: Calendar,
    cat: Catalogue,
    cust: Customers,
    tx: Transactions,
    campaigns: list[Campaign],
    rate: F64,
    uplift: F64,
    led: Ledger,
    lines: dict[str, npt.NDArray[np.generic]],
    skus: list[str],
    loc_codes: list[str],
    ch_codes: list[str],
    cust_codes: list[str],
) -> dict[str, pl.DataFrame]:
    n_sku = len(skus)
    outlet = np.asarray(lines["outlet"], dtype=np.int64)
    demand = (
        pl.DataFrame(
            {
                "sku": np.asarray(lines["sku"], dtype=np.int64),
                "channel": OUTLET_CHANNEL[outlet],
                "location": OUTLET_LOCATION[outlet],
                "day": np.asarray(lines["day"], dtype=np.int64),
                "demand_units": np.asarray(lines["wanted"], dtype=np.int64),
                "sold_units": np.asarray(lines["sold"], dtype=np.int64),
            }
        )
        .group_by("sku", "channel", "location", "day")
        .agg(pl.col("demand_units", "sold_units").sum())
    )
    demand = demand.sort("day", "sku", "channel", "location")
    demand = pl.DataFrame(
        {
            "sku": _take(skus, demand["sku"].to_numpy()),
            "channel_code": _take(ch_codes, demand["channel"].to_numpy()),
            "location_code": _take(loc_codes, demand["location"].to_numpy()),
            "date": _dates(demand["day"].to_numpy()),
            "demand_units": demand["demand_units"],
            "sold_units": demand["sold_units"],
        }
    )
    so = _cat(led.stockouts)
    keys = np.asarray(so["key"], dtype=np.int64)
    stockouts = pl.DataFrame(
        {
            "sku": _take(skus, keys % n_sku),
            "location_code": _take(loc_codes, keys // n_sku),
            "date": _dates(so["day"]),
        }
    )
    stocked = np.flatnonzero(led.assorted & (led.first_active <= led.last_active))
    assortment = pl.DataFrame(
        {
            "sku": _take(skus, stocked % n_sku),
            "location_code": _take(loc_codes, stocked // n_sku),
            "active_from": _dates(led.first_active[stocked]),
            "active_to": _dates(led.last_active[stocked]),
            "active_days": led.last_active[stocked] - led.first_active[stocked] + 1,
        }
    )
    initial = np.flatnonzero(led.assorted)
    initial_stock = pl.DataFrame(
        {
            "sku": _take(skus, initial % n_sku),
            "location_code": _take(loc_codes, initial // n_sku),
            "on_hand": led.initial[initial],
        }
    ).with_columns(pl.lit(START).alias("as_of"))
    lapsed = led.lapse_day <= DAYS
    customers = pl.DataFrame(
        {
            "customer_id": cust_codes,
            "home_channel": _take(ch_codes, cust.home_channel),
            "lambda_per_day": cust.lam,
            "dropout_p": cust.dropout,
            "mean_spend": cust.mean_spend,
            "purchases_until_dropout": cust.purchases_until_dropout,
            "expected_spend_365d": cust.value,
            "favourite_category": _take([c.name for c in CATEGORIES], cust.favourite),
            "lapsed": lapsed,
            "lapsed_on": _dates(np.minimum(led.lapse_day, DAYS - 1)),
        }
    ).with_columns(
        pl.when(pl.col("lapsed")).then(pl.col("lapsed_on")).otherwise(None).alias("lapsed_on")
    )
    gate = np.flatnonzero(cat.gateway)
    gateway_skus = cat.products.select("sku", "product_code")[gate]
    elasticity = pl.DataFrame(
        {
            "sku": skus,
            "product_code": cat.products["product_code"],
            "elasticity": cat.elasticity,
            "reference_price": cat.ref_price.astype(np.int64),
        }
    )
    up_rows = []
    for c in campaigns:
        for ch in range(len(CHANNELS)) if c.channel < 0 else [c.channel]:
            up_rows.append((c.code, ch_codes[ch], c.uplift))
    campaign_uplift = pl.DataFrame(
        up_rows,
        schema={"campaign_code": pl.String, "channel_code": pl.String, "uplift": pl.Float64},
        orient="row",
    )
    sup = cat.suppliers
    mean = sup["_mean"].to_numpy()
    cv = sup["_cv"].to_numpy()
    supplier_lead_times = pl.DataFrame(
        {
            "supplier_code": sup["supplier_code"],
            "distribution": ["lognormal"] * sup.height,
            "mean_days": mean,
            "sd_days": mean * cv,
            "cv": cv,
            "promised_days": sup["lead_time_days"],
            "note": ["drawn per PO, rounded to whole days, at least 1"] * sup.height,
        }
    )
    lapse = pl.DataFrame(
        {
            "segment": ["all"],
            "lapse_probability": [LAPSE_PROBABILITY],
            "restock_signup_probability": [RESTOCK_SIGNUP_PROBABILITY],
        }
    )
    parameters = pl.DataFrame(
        [
            ("bgnbd_r", BGNBD_R, "λ ~ Gamma(shape r, rate α), purchases per day"),
            ("bgnbd_alpha", BGNBD_ALPHA, "rate of the Gamma for λ (days)"),
            ("bgnbd_a", BGNBD_A, "p ~ Beta(a, b), dropout after each repeat purchase"),
            ("bgnbd_b", BGNBD_B, "second shape of the Beta for p"),
            ("gg_p", GG_P, "transaction value z ~ Gamma(shape p, rate ν)"),
            ("gg_q", GG_Q, "ν ~ Gamma(shape q, rate γ)"),
            ("gg_gamma", GG_GAMMA, "rate of the Gamma for ν (JPY)"),
            ("affinity", AFFINITY, "share of a known customer's lines from the favourite category"),
            ("channel_switch", CHANNEL_SWITCH, "share of purchases away from the home channel"),
            ("coupon_use", COUPON_USE, "share of own-shop orders using a running coupon"),
            ("partial_receipt", PARTIAL_RECEIPT, "share of PO lines received in two parts"),
            ("policy_z", POLICY_Z, "safety factor of the simulated buyer"),
            ("review_days", float(REVIEW_DAYS), "review period of the simulated buyer"),
            ("anonymous_per_day", spec.anonymous_per_day, "walk-in sales per ordinary day"),
        ],
        schema={"name": pl.String, "value": pl.Float64, "meaning": pl.String},
        orient="row",
    )
    day_rates = pl.DataFrame(
        {
            "channel_code": np.repeat(np.array(ch_codes), DAYS),
            "date": pl.concat([_dates(np.arange(DAYS))] * len(CHANNELS)),
            "holiday": np.tile(cal.holiday, len(CHANNELS)),
            "base_multiplier": cal.base.ravel(),
            "campaign_uplift": uplift.ravel(),
            "rate_multiplier": rate.ravel(),
        }
    )
    return {
        "demand": demand,
        "stockouts": stockouts,
        "assortment": assortment,
        "initial_stock": initial_stock,
        "customers": customers,
        "gateway_skus": gateway_skus,
        "lapse": lapse,
        "elasticity": elasticity,
        "campaign_uplift": campaign_uplift,
        "supplier_lead_times": supplier_lead_times,
        "parameters": parameters,
        "day_rates": day_rates,
    }


# --- entry point -------------------------------------------------------------------------


@contextmanager
def _progress(enabled: bool) -> Iterator[Progress]:
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        disable=not enabled,
        transient=True,
    )
    with bar:
        yield bar


def generate(preset: str, seed: int, progress: bool = False) -> Dataset:
    """The demo data set ``preset`` (small, medium, large) for ``seed``, and its truth.

    Same preset and seed → identical frames.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; one of {', '.join(PRESETS)}")
    spec = PRESETS[preset]
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)]
    with _progress(progress) as bar:
        setup = bar.add_task("catalogue and customers", total=3)
        cal = _calendar()
        campaigns = _campaigns(streams[0])
        uplift = _uplift(campaigns)
        rate = cal.base * uplift
        cat = _catalogue(spec, streams[1])
        bar.advance(setup)
        cust = _customers(spec, cat, streams[2])
        tx = _transactions(spec, cust, rate, streams[3])
        bar.advance(setup)
        walk = bar.add_task("simulating days", total=DAYS)
        led = _simulate(cat, cust, tx, campaigns, cal, uplift, streams[4], bar, walk)
        tables, truth = _frames(spec, cal, cat, cust, tx, campaigns, rate, uplift, led)
        bar.advance(setup)
    return Dataset(tables, truth)
