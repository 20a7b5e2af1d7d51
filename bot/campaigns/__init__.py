"""Campaigns: versioned templates, audiences, schedules and the delivery engine."""
