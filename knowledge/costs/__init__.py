"""Test prices for sequential diagnosis: a shipped, sourced table and a user's own CSV.

For demonstration and education only: not for billing, not for clinical use.
"""

from knowledge.costs.table import (
    COLUMNS,
    NOTICE,
    PriceRow,
    PriceTable,
    PriceTableError,
    load_table,
    shipped_table,
)

__all__ = [
    "COLUMNS",
    "NOTICE",
    "PriceRow",
    "PriceTable",
    "PriceTableError",
    "load_table",
    "shipped_table",
]
