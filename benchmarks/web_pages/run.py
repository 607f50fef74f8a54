"""Claim: on the large preset, the overview and the large table page (Sell-through & health,
~30,000 SKUs) answer with p95 server time under 300 ms.

The store is the large demo preset (``soko.data.generate.generate("large", seed)``,
imported into SQLite); it is built once into ``--data-dir`` and reused by later
runs. Requests go through the whole ASGI app in this process (routing, session
middleware, queries, templates), timed from request to full response body.

Baseline, in the same run and the same way: ``GET /api/v1/health`` (one
trivial SQL query through the same stack), so the ratio shows what the pages
add over the app's fixed cost.

The figures behind the pages are memoised per store state (they change only
when stock or orders do), so two columns are printed: "warm" requests, as
every reader after the first sees them until the store changes, and "cold"
requests with the memo emptied before each, as the first reader after an
import or a stock change sees them.

    .venv/bin/python benchmarks/web_pages/run.py [--data-dir DIR] [--requests N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from soko.data.demo import generate_into_store, store_is_empty
from soko.insight import health
from soko.settings import Settings
from soko.store.db import make_engine, migrate
from soko.store.tables import OrderLine, Sku
from soko.web.app import create_app

SEED = 1
BASELINE = "baseline: /api/v1/health"
PAGES = {
    BASELINE: "/api/v1/health",
    "overview /": "/",
    "health table, by SKU": "/inventory-health",
    "health table, sorted by cover": "/inventory-health?sort=cover_days&dir=desc&page=3",
    "health table, filtered": "/inventory-health?q=BK&flag=dead",
    "health table, by product": "/inventory-health?by=product",
}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def build(settings: Settings) -> None:
    engine = make_engine(settings)
    migrate(engine)
    engine.dispose()
    if store_is_empty(settings):
        start = time.perf_counter()
        generate_into_store(settings, "large", SEED, progress=True)
        print(f"built the large store in {time.perf_counter() - start:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("data/bench-web-pages"))
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--cold", type=int, default=5, help="cold requests per page")
    args = parser.parse_args()
    settings = Settings(data_dir=args.data_dir)
    build(settings)
    app = create_app(settings)
    engine = app.state.store.engine
    with engine.connect() as conn:
        skus = conn.execute(select(func.count()).select_from(Sku)).scalar_one()
        lines = conn.execute(select(func.count()).select_from(OrderLine)).scalar_one()
    print(f"store: {skus:,} SKUs, {lines:,} order lines ({engine.dialect.name})")
    warm: dict[str, list[float]] = {}
    cold: dict[str, list[float]] = {}
    with TestClient(app) as client:

        def timed(path: str) -> float:
            start = time.perf_counter()
            response = client.get(path)
            _ = response.content
            took = (time.perf_counter() - start) * 1000
            assert response.status_code == 200, (path, response.status_code)
            return took

        for name, path in PAGES.items():
            cold[name] = []
            for _ in range(args.cold):
                forget_figures()
                cold[name].append(timed(path))
            warm[name] = [timed(path) for _ in range(args.requests)]
    base = percentile(warm[BASELINE], 0.95)
    print(f"{'':32} {'warm p50':>9} {'warm p95':>9} {'cold p50':>9} {'cold p95':>9}  p95/baseline")
    for name in PAGES:
        w50, w95 = statistics.median(warm[name]), percentile(warm[name], 0.95)
        c50, c95 = statistics.median(cold[name]), percentile(cold[name], 0.95)
        print(f"{name:32} {w50:9.1f} {w95:9.1f} {c50:9.1f} {c95:9.1f}  {w95 / base:6.1f} warm")
    print(f"milliseconds; {args.requests} warm and {args.cold} cold requests per page")


def forget_figures() -> None:
    """Empty the memo of overview and health figures, as a change of the store would."""
    with health._memo_lock:
        health._MEMO.clear()


if __name__ == "__main__":
    main()
