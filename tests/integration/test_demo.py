"""The demo data set: loading it directly and importing its files give the same store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from soko.data import demo
from soko.data.importer import import_paths
from soko.settings import Settings
from soko.store.db import make_engine
from tests.integration.test_import import snapshot

SOKO = Path(sys.executable).parent / "soko"


def test_importing_the_generated_files_gives_the_same_store_as_loading_directly(
    tmp_path: Path,
) -> None:
    direct = Settings(data_dir=tmp_path / "direct")
    demo.generate_into_store(direct, "small", 7)
    demo.generate_to_files("small", 7, tmp_path / "files")
    via_files = Settings(data_dir=tmp_path / "via_files")
    import_paths(via_files, [tmp_path / "files"])
    a, b = make_engine(direct), make_engine(via_files)
    first, second = snapshot(a), snapshot(b)
    assert sum(len(rows) for rows in first.values()) > 30_000
    assert first == second


def test_the_cli_generates_files_that_the_cli_imports(tmp_path: Path) -> None:
    env = {"SOKO_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}
    out = tmp_path / "files"
    gen = subprocess.run(
        [str(SOKO), "generate", "--preset", "small", "--seed", "3", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert gen.returncode == 0, gen.stderr
    assert (out / "order_lines.csv").is_file()
    assert (out / "truth" / "demand.parquet").is_file()
    imp = subprocess.run(
        [str(SOKO), "import", str(out)], capture_output=True, text=True, env=env, check=False
    )
    assert imp.returncode == 0, imp.stderr
    assert not demo.store_is_empty(Settings(data_dir=tmp_path / "data"))
