"""Only present when auth = true."""
