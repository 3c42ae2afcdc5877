"""Payment platforms' files: merchants' exports and payers' own bills, read into charges."""
