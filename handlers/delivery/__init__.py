"""Proactive messages: the outbox worker, the notices, and pruning."""
