"""The merchant's duplicate monitor: rapid repeat payments caught as they arrive, and what follows."""
