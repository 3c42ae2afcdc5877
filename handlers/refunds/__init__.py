"""From an approved ticket to a refund that lands."""
