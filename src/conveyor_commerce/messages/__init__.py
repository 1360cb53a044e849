"""Scheduled WhatsApp messages: model, storage, the send job, status callbacks."""
