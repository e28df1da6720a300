"""Command-line entry points (`telerad ...`)."""
