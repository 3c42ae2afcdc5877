"""What payers do in their private chat: the report, their tickets, the menu."""
