"""Everything a scheduler runs: reminders, digests, stale leads, complaint SLAs, churn alerts,
value tiers."""
