"""One module per command (or group of small commands) of the `lifesci-tracker` CLI."""
