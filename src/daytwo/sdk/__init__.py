"""The tracing SDK: spans, context, the decorator and the exporter."""
