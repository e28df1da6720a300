"""Benchmarks (run: .venv/bin/python bench/run.py)."""
