"""The review queue: predictions nobody reported, ranked by how likely they are wrong in the
way each error category's confirmed errors were (`ranking.py`, pure)."""
