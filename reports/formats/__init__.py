"""reports/formats."""
