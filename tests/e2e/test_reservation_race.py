"""Over real HTTP (uvicorn in its own process), on SQLite and PostgreSQL: no oversell, no loss."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest

from soko.api.auth import Scope, create_token
from soko.data.importer import import_paths
from soko.settings import Settings
from soko.store.db import make_engine
from tests.integration.test_import import write_shop
from tests.servers import SOKO, serving


def server_env(settings: Settings) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "SOKO_DATA_DIR": str(settings.data_dir)}
    if settings.database_url:
        env["SOKO_DATABASE_URL"] = settings.database_url
    return env


def served(settings: Settings) -> AbstractContextManager[tuple[str, subprocess.Popen[bytes]]]:
    return serving(server_env(settings))


def stocked(store: Settings, tmp_path: Path, units: int) -> str:
    folder = write_shop(tmp_path / "shop")
    (folder / "stock.csv").write_text(
        f"sku,location_code,on_hand\nTS-BLK-M,wh1,{units}\n", encoding="utf-8"
    )
    import_paths(store, [folder])
    engine = make_engine(store)
    with engine.begin() as conn:
        token = create_token(conn, [Scope.reserve])
    engine.dispose()
    return token


@pytest.mark.slow
@pytest.mark.xdist_group("servers")
def test_fifty_clients_racing_for_100_units_reserve_exactly_100(
    store: Settings, tmp_path: Path
) -> None:
    token = stocked(store, tmp_path, 100)
    won: list[str] = []
    other: list[int] = []
    with served(store) as (base, _):

        def client(n: int) -> None:
            with httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60
            ) as http:
                for i in range(1000):
                    body = {
                        "sku": "TS-BLK-M",
                        "channel": ("web", "rakuten")[n % 2],
                        "quantity": 1,
                        "idempotency_key": f"c{n}-{i}",
                    }
                    response = http.post("/api/v1/reservations", json=body)
                    if response.status_code == 201:
                        won.append(response.json()["id"])
                    elif response.json().get("code") == "insufficient_stock":
                        return
                    else:
                        other.append(response.status_code)
                        return

        threads = [threading.Thread(target=client, args=(n,)) for n in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as http:
            [wh1] = http.get("/api/v1/balances/TS-BLK-M").json()["locations"]
    assert other == []
    assert len(won) == len(set(won)) == 100
    assert (wh1["on_hand"], wh1["reserved"], wh1["available"]) == (100, 100, 0)
    verify = subprocess.run(
        [str(SOKO), "ledger", "verify"],
        env=server_env(store),
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stderr


@pytest.mark.slow
@pytest.mark.xdist_group("servers")
def test_a_server_killed_mid_load_keeps_every_acknowledged_reservation(
    store: Settings, tmp_path: Path
) -> None:
    token = stocked(store, tmp_path, 100_000)
    acknowledged: list[str] = []
    stop = threading.Event()
    with served(store) as (base, proc):

        def client(n: int) -> None:
            with httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10
            ) as http:
                i = 0
                while not stop.is_set():
                    body = {
                        "sku": "TS-BLK-M",
                        "channel": "web",
                        "quantity": 1 + i % 3,
                        "idempotency_key": f"k{n}-{i}",
                    }
                    i += 1
                    try:
                        response = http.post("/api/v1/reservations", json=body)
                    except httpx.TransportError:
                        return
                    if response.status_code == 201:
                        acknowledged.append(response.json()["id"])

        threads = [threading.Thread(target=client, args=(n,)) for n in range(20)]
        for t in threads:
            t.start()
        while len(acknowledged) < 50:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        stop.set()
        for t in threads:
            t.join()
    verify = subprocess.run(
        [str(SOKO), "ledger", "verify"],
        env=server_env(store),
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    with (
        served(store) as (base, _),
        httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as http,
    ):
        statuses = [
            http.get(f"/api/v1/reservations/{rid}").json()["status"] for rid in acknowledged
        ]
    assert len(acknowledged) >= 50
    assert set(statuses) == {"held"}
