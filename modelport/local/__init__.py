"""`modelport local`: the whole platform on one machine (composition root for local mode)."""
