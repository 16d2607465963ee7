"""The pages of the web UI, one module per page or group of pages."""
