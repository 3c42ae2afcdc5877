"""The python-telegram-bot 22 runtime: translates updates to Events and renders the handlers' outputs."""
