"""Storage backends behind one narrow, SQL-free seam (see `base.Backend`)."""
