"""P3 demand forecasting: candidates chosen by backtest, conformal quantiles, history cleaning.

The pure modules (``core``, ``metrics``, ``history``, ``split``, ``analogues``, ``public``)
import no database; ``service`` reads and writes the store.
"""

from soko.forecast.core import ForecastInputError, ForecastResult, run
from soko.forecast.public import forecast

__all__ = ["ForecastInputError", "ForecastResult", "forecast", "run"]
