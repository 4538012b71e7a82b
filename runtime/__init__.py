"""What every process of the daemon shares: config, logs, phone numbers, processes."""
