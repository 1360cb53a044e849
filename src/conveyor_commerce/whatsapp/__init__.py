"""WhatsApp Cloud API: accounts, request bodies, the client and the error-code table."""
