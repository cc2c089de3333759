"""Benchmarks of cspdash at the sizes of a London borough and a regional deployment (``make bench``)."""
