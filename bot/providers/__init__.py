"""Payment providers: where refunds are created and followed."""
