"""Broadcast campaigns: one content (a template, or a text inside the service window) sent to a
recipient list of any size, as a Conveyor batch of chunk jobs paced by the sending number's
rate. See `service` (the `commerce.campaigns` API) and `runner` (what a chunk job does)."""
