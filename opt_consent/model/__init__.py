"""What every capability shares: the channels, the log's fields, moments, addresses, messages. All pure."""
