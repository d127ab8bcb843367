"""The time-series store: the only package that speaks SQL."""
