"""Input checks shared by the customer models: arrays in, clear ``ValueError`` out.

Every message names the argument, how many rows break the rule and the first
such index, so a planner can find the bad customer in their own frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

ArrayLike = npt.ArrayLike
"""Numbers as a numpy array, a list or a scalar."""


def as_float(name: str, values: ArrayLike) -> F64:
    """``values`` as a float64 array, refusing NaN and infinities."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numbers: {exc}") from exc
    require(name, np.isfinite(array), "be finite")
    return array


def require(name: str, ok: Bools, rule: str) -> None:
    """Raise a ``ValueError`` naming how many rows break ``rule`` and the first of them."""
    bad = ~np.asarray(ok, dtype=np.bool_)
    if bad.any():
        flat = np.flatnonzero(bad.ravel())
        count = flat.size
        rows = "row breaks" if count == 1 else "rows break"
        raise ValueError(
            f"{name} must {rule}: {count} {rows} this, the first at index {int(flat[0])}"
        )


def same_length(**arrays: F64) -> int:
    """The common length of one-dimensional ``arrays``; a ``ValueError`` otherwise."""
    for name, array in arrays.items():
        if array.ndim != 1:
            raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    lengths = {name: array.size for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name}={size}" for name, size in lengths.items())
        raise ValueError(f"inputs must have the same length, got {listed}")
    return next(iter(lengths.values()))


def counts(name: str, values: ArrayLike, *, positive: bool = False) -> F64:
    """Whole, non-negative (or, with ``positive``, strictly positive) counts as float64."""
    array = as_float(name, values)
    if positive:
        require(name, array > 0, "be > 0 (a customer with no repeat transaction has no spend)")
    else:
        require(name, array >= 0, "be >= 0")
    require(name, array == np.round(array), "be whole numbers")
    return array


def recency_frequency(x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> tuple[F64, F64, F64]:  # noqa: N803
    """(x, t_x, T) checked against the BG/NBD's own rules, broadcast to one shape.

    x whole and ≥ 0; 0 ≤ t_x ≤ T; and t_x = 0 when x = 0, since t_x is the time
    of the last *repeat* transaction (Fader, Hardie & Lee 2005, §2).
    """
    x_arr, t_x_arr, t_arr = np.broadcast_arrays(
        counts("x", x), as_float("t_x", t_x), as_float("T", T)
    )
    require("t_x", t_x_arr >= 0, "be >= 0")
    require("t_x", t_x_arr <= t_arr, "be <= T (the last repeat purchase lies in the period)")
    require("t_x", (x_arr > 0) | (t_x_arr == 0), "be 0 where x is 0 (no repeat purchase)")
    return x_arr, t_x_arr, t_arr


def optional_weights(weights: ArrayLike | None, size: int) -> F64:
    """Non-negative row weights, all ones when ``weights`` is None."""
    if weights is None:
        return np.ones(size, dtype=np.float64)
    array = as_float("weights", weights)
    if array.ndim != 1 or array.size != size:
        raise ValueError(f"weights must have one value per customer ({size}), got {array.shape}")
    require("weights", array >= 0, "be >= 0")
    if not array.sum() > 0:
        raise ValueError("weights must not all be zero")
    return array


def sum_by_group(group: npt.NDArray[np.intp], weights: F64, size: int) -> F64:
    """Σ weights per group id in 0 … size−1."""
    return np.asarray(np.bincount(group, weights=weights, minlength=size), dtype=np.float64)


def dedupe_rows(columns: Sequence[F64], weights: F64) -> tuple[list[F64], F64]:
    """Identical rows merged into one, their weights summed.

    The likelihoods are sums over customers, so k identical customers contribute
    k times one row's term; merging them is exact and makes cohort data with
    whole-day times much cheaper to fit. Rows keep their first-seen order, so
    a fit is reproducible to the last bit.
    """
    names = [f"c{i}" for i in range(len(columns))]
    frame = pl.DataFrame({**dict(zip(names, columns, strict=True)), "w": weights})
    grouped = (
        frame.group_by(names, maintain_order=True).agg(pl.col("w").sum()).filter(pl.col("w") > 0)
    )
    return [grouped[name].to_numpy() for name in names], grouped["w"].to_numpy()


def converged(result: Any) -> bool:
    """Whether an L-BFGS-B run ended at a stationary point.

    A line search that cannot improve the last digits of an already flat
    objective ends "abnormally"; with the gradient of the *mean*
    log-likelihood this small, the parameters are settled all the same.
    """
    return bool(result.success) or float(np.max(np.abs(result.jac))) < 1e-6
