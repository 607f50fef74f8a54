"""Claim: reservations on PostgreSQL run at least half as fast in-process as a raw conditional
UPDATE, and over HTTP reach 1,000/s spread over 10,000 SKUs and 300/s on one hot SKU.

Everything runs in one process against a fresh schema on the local PostgreSQL:
the baseline is one raw ``UPDATE … WHERE on_hand - reserved >= 1`` per
transaction (psycopg, no ORM, no rules); then ``soko.ledger.service.reserve``
in-process; then 50 concurrent HTTP clients against ``soko serve``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import polars as pl
import psycopg

from soko.api.auth import Scope, create_token
from soko.data.importer import import_tables
from soko.ledger import service
from soko.ledger.rules import Mode
from soko.settings import Settings, local_now
from soko.store.db import make_engine

PG = "postgresql://postgres@127.0.0.1:5432/test"
SKUS = 10_000
N_INPROCESS = 2_000
N_HTTP = 4_000
CLIENTS = 50


def shop(skus: int) -> list[tuple[str, pl.DataFrame]]:
    codes = [f"SKU-{i:05d}" for i in range(skus)]
    return [
        (
            "channels.csv",
            pl.DataFrame({"channel_code": ["web", "rakuten"], "kind": ["own_web", "rakuten"]}),
        ),
        ("locations.csv", pl.DataFrame({"location_code": ["wh1"], "kind": ["warehouse"]})),
        ("products.csv", pl.DataFrame({"sku": codes, "product_code": [c[:7] for c in codes]})),
        ("stock.csv", pl.DataFrame({"sku": codes, "location_code": "wh1", "on_hand": 1_000_000})),
    ]


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:8.0f}/s"


def raw_baseline(dsn: str, schema: str, sku_ids: list[int], n: int) -> float:
    with psycopg.connect(dsn, options=f"-csearch_path={schema}") as conn:
        start = time.perf_counter()
        for i in range(n):
            with conn.transaction():
                cur = conn.execute(
                    "UPDATE balances SET reserved = reserved + 1 "
                    "WHERE sku_id = %s AND on_hand - reserved >= 1",
                    (sku_ids[i % len(sku_ids)],),
                )
                assert cur.rowcount == 1
        return time.perf_counter() - start


def in_process(settings: Settings, codes: list[str], n: int, tag: str) -> float:
    engine = make_engine(settings)
    start = time.perf_counter()
    for i in range(n):
        with engine.begin() as conn:
            service.reserve(
                conn,
                sku=codes[i % len(codes)],
                channel="web",
                quantity=1,
                idempotency_key=f"{tag}-{i}",
                now=local_now(settings),
                mode=Mode.shared,
                ttl_seconds=900,
            )
    took = time.perf_counter() - start
    engine.dispose()
    return took


async def over_http(base: str, token: str, codes: list[str], n: int, tag: str) -> tuple[float, int]:
    """Seconds for ``n`` reservations by CLIENTS concurrent clients, and how many requests
    were sent again after the connection dropped (safe: the idempotency key is the same)."""
    queue = list(range(n))
    retried = 0

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal retried
        while queue:
            i = queue.pop()
            body = {
                "sku": codes[i % len(codes)],
                "channel": "web",
                "quantity": 1,
                "idempotency_key": f"{tag}-{i}",
            }
            for attempt in range(3):
                try:
                    response = await http.post("/api/v1/reservations", json=body)
                    break
                except httpx.TransportError:
                    if attempt == 2:
                        raise
                    retried += 1
            if response.status_code != 201:
                raise RuntimeError(response.text)

    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60, limits=limits
    ) as http:
        start = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(CLIENTS)))
        return time.perf_counter() - start, retried


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1, help="soko serve worker processes")
    workers = parser.parse_args().workers
    print(f"HTTP server: soko serve --workers {workers}")
    schema = f"soko_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(PG, autocommit=True)
    admin.execute(f'CREATE SCHEMA "{schema}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    settings = Settings(data_dir=Path(tempfile.mkdtemp()), database_url=url)
    server = None
    try:
        import_tables(settings, shop(SKUS))
        engine = make_engine(settings)
        with engine.begin() as conn:
            token = create_token(conn, [Scope.reserve])
            ids = [int(r[0]) for r in conn.exec_driver_sql("SELECT id FROM skus ORDER BY code")]
        engine.dispose()
        codes = [f"SKU-{i:05d}" for i in range(SKUS)]
        spread = random.Random(1).sample(codes, len(codes))
        print(f"PostgreSQL, {SKUS:,} SKUs, one transaction per reservation")
        for label, sku_ids, sku_codes in (("spread", ids, spread), ("hot SKU", ids[:1], codes[:1])):
            base_s = raw_baseline(PG, schema, sku_ids, N_INPROCESS)
            soko_s = in_process(settings, sku_codes, N_INPROCESS, f"in-{label}")
            print(
                f"  {label:<8} raw conditional UPDATE {rate(N_INPROCESS, base_s)}   "
                f"soko in-process {rate(N_INPROCESS, soko_s)}   "
                f"ratio {base_s / soko_s:4.2f} of baseline"
            )

        port = _free_port()
        env = {
            "PATH": os.environ.get("PATH", ""),
            "SOKO_DATABASE_URL": url,
            "SOKO_DATA_DIR": str(settings.data_dir),
        }
        log = Path(settings.data_dir) / "serve.log"
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "soko"),
                "serve",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                httpx.get(f"{base}/api/v1/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"soko serve did not answer in 60 s:\n{log.read_text()[-2000:]}")
        for label, sku_codes in (("spread", spread), ("hot SKU", codes[1:2])):
            took, retried = asyncio.run(over_http(base, token, sku_codes, N_HTTP, f"http-{label}"))
            aim = 1000 if label == "spread" else 300
            again = f", {retried} sent again after a dropped connection" if retried else ""
            print(
                f"  {label:<8} over HTTP, {CLIENTS} clients {rate(N_HTTP, took)}   "
                f"(aim {aim}/s{again})"
            )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    main()
