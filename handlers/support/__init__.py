"""The support group: cards, decisions, prompts, reports."""
