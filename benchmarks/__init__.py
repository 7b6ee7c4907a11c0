"""Benchmarks with printed figures (scripts/bench)."""
