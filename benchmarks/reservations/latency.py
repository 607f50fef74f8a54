"""Where an HTTP reservation's time goes: one client, requests one after another, against
``soko serve`` on PostgreSQL, beside a static file (the web stack's floor) and a token-checked
read, with ``service.reserve`` in-process as the floor of the reservation itself.

Prints milliseconds per request; no aim, it explains the figures of ``run.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg

from soko.api.auth import Scope, create_token
from soko.data.importer import import_tables
from soko.ledger import service
from soko.ledger.rules import Mode
from soko.settings import Settings, local_now
from soko.store.db import make_engine

sys.path.insert(0, str(Path(__file__).parent))
from run import PG, _free_port, shop

SKUS = 1_000
N = 400


def per_request(call: Callable[[int], object], n: int = N) -> float:
    """Milliseconds per call, after 20 calls of warm-up."""
    for i in range(20):
        call(10_000 + i)
    start = time.perf_counter()
    for i in range(n):
        call(i)
    return (time.perf_counter() - start) / n * 1000


def main() -> None:
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

        def reserve(i: int) -> None:
            with engine.begin() as conn:
                service.reserve(
                    conn,
                    sku=f"SKU-{i % SKUS:05d}",
                    channel="web",
                    quantity=1,
                    idempotency_key=f"in-{i}",
                    now=local_now(settings),
                    mode=Mode.shared,
                    ttl_seconds=900,
                )

        print(f"PostgreSQL, one client, requests one after another ({N} each)")
        print(f"  service.reserve in-process            {per_request(reserve):6.2f} ms")
        engine.dispose()
        port = _free_port()
        env = {
            "PATH": os.environ.get("PATH", ""),
            "SOKO_DATABASE_URL": url,
            "SOKO_DATA_DIR": str(settings.data_dir),
        }
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "soko"), "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                httpx.get(f"{base}/api/v1/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:

            def post(i: int) -> None:
                body = {
                    "sku": f"SKU-{i % SKUS:05d}",
                    "channel": "web",
                    "quantity": 1,
                    "idempotency_key": f"http-{i}",
                }
                response = http.post("/api/v1/reservations", json=body)
                if response.status_code != 201:
                    raise RuntimeError(response.text)

            for label, call in (
                ("GET a static file (the web stack)", lambda i: http.get("/static/favicon.svg")),
                (
                    "GET /api/v1/skus?limit=1 (token, read)",
                    lambda i: http.get("/api/v1/skus?limit=1"),
                ),
                ("POST /api/v1/reservations", post),
            ):
                print(f"  {label:<38} {per_request(call):6.2f} ms")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


if __name__ == "__main__":
    main()
