"""reports/channels."""
