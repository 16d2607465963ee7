"""The exporter: spans leave the process in batches on a background thread."""
