"""Hardening helpers: decompression-bomb generators, the seeded mutation fuzzer, the crasher corpus."""
