"""Carts of the chat flow: abandoned-cart reminders, expiry, statistics, order notifications."""
