"""The aiogram 3 runtime: translates updates to Events and renders the handlers' outputs."""
