"""Claim: the large preset (≥30,000 SKUs, 500,000 customers, 2 years) generates in under a minute,
scaling about linearly from the small one.

The baseline, run in the same process, is the small preset; the ratio of
times is printed beside the ratio of order lines made.
"""

from __future__ import annotations

import resource
import time

from soko.data.generate import generate


def run(preset: str) -> tuple[float, int, int]:
    start = time.perf_counter()
    data = generate(preset, 1)
    took = time.perf_counter() - start
    return took, data.tables["order_lines"].height, data.tables["products"].height


def main() -> None:
    small_s, small_lines, _ = run("small")
    print(f"baseline  small preset   {small_s:7.2f} s   {small_lines:>10,} order lines")
    for preset in ("medium", "large"):
        took, lines, skus = run(preset)
        print(
            f"{preset:<6} preset            {took:7.2f} s   {lines:>10,} order lines, {skus:,} SKUs"
            f"   time ×{took / small_s:.0f} for lines ×{lines / small_lines:.0f}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"peak memory {peak:.1f} GB")


if __name__ == "__main__":
    main()
