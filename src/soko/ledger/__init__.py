"""The ledger (O1–O3): movements, balances, reservations and channel availability rules."""
