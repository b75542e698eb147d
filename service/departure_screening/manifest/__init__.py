"""``depscreen manifest screen``: airline passenger lists screened before the counter."""
