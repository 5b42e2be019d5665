"""`lifesci-tracker schedule`: run `run` on the [schedule] cron, never two at once."""
