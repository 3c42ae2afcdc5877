"""The merchant's private chat: payment-safety broadcasts, the dashboard, the duplicate list."""
