"""Planning and purchasing (P5, P10, P11): plan runs, the purchase-order list and its lifecycle.

Pure parts (no database): :mod:`soko.planning.quantities` (MOQ and case pack)
and :mod:`soko.planning.seasonal` (newsvendor over the rest of a season). The
shell: :mod:`soko.planning.suppliers` (lead times measured from receipts),
:mod:`soko.planning.run` (one plan run), :mod:`soko.planning.orders` (edits,
approval, purchase orders, receipts) and :mod:`soko.planning.exports`.
"""
