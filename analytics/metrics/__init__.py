"""The analytics metrics core: pure Python + numpy, no Django and no project app (an import-linter contract keeps it
so). Battles and backtests call it; the analytics app keeps its streaming state per wallet and period.

Public API: :func:`performance`, :class:`Performance`, :class:`Accumulator`, :func:`deflated_sharpe`,
:func:`deflated_sharpes`, :func:`rank`, ``RANKING_METRICS``. Definitions: docs/analytics.md.
"""

from .core import YEAR_SECONDS, Accumulator, Performance, performance
from .dsr import deflated_sharpe, deflated_sharpes, expected_max_sharpe, probabilistic_sharpe
from .ranking import RANKING_METRICS, Ranked, rank, sort_value

__all__ = ["YEAR_SECONDS", "Accumulator", "Performance", "performance", "deflated_sharpe", "deflated_sharpes",
           "expected_max_sharpe", "probabilistic_sharpe", "RANKING_METRICS", "Ranked", "rank", "sort_value"]
