"""The data types every part shares: sweep plans, their layouts, channel specs and records (imports nothing of ours)."""
