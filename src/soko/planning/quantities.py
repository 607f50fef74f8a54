"""Order quantities a supplier accepts: case packs and minimum order quantities.

DESIGN.md, "Formulas": recommended order = max(0, S − inventory position),
rounded up to the case pack, at least the MOQ. Rounding up (never down) keeps
the service level the policy chose; the MOQ itself is rounded up to a whole
number of cases, since a supplier ships cases.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def orderable(shortfall: FloatArray | IntArray, *, case_pack: IntArray, moq: IntArray) -> IntArray:
    """The smallest quantity ≥ ``shortfall`` that is a multiple of ``case_pack`` and ≥ ``moq``.

    A shortfall of zero or less orders nothing. ``case_pack`` and ``moq`` are
    at least 1 (the store enforces it); a zero is read as 1.
    """
    need = np.ceil(np.maximum(np.asarray(shortfall, dtype=np.float64), 0.0) - 1e-9)
    pack = np.maximum(np.asarray(case_pack, dtype=np.int64), 1)
    floor = np.maximum(np.asarray(moq, dtype=np.int64), 1)
    floor_in_cases = -(-floor // pack) * pack
    cases = -(-need.astype(np.int64) // pack) * pack
    quantity: IntArray = np.where(need > 0, np.maximum(cases, floor_in_cases), 0).astype(np.int64)
    return quantity


def is_orderable(quantity: int, *, case_pack: int, moq: int) -> bool:
    """Whether a buyer's quantity is one the supplier accepts (0 means "do not order")."""
    return quantity == 0 or (quantity >= moq and quantity % max(case_pack, 1) == 0)
