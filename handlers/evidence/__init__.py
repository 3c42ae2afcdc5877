"""Screenshots: receiving, checking and cleaning up."""
