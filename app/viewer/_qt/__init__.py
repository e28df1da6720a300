"""Qt helpers of the viewer (toolbar and series list)."""
