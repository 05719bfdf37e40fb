"""Only present when auth = false."""
