"""`lifesci-tracker outbox` and `report`: deliveries pending or failed, and reports for any range."""
