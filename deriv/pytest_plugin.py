"""deriv's pytest plugin (being written)."""
