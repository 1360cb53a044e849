"""A local stand-in for Meta's WhatsApp Cloud API, faithful to its OpenAPI description: real
request validation, response and error shapes, approved templates, per-number throughput,
injectable faults, and signed status callbacks. Tests and the demo send here; production
sends to Meta by changing the account's base URL and token."""

from conveyor_commerce.sandbox.server import SandboxServer, new_state
from conveyor_commerce.sandbox.state import SandboxState, TemplateSpec

__all__ = ["SandboxServer", "SandboxState", "TemplateSpec", "new_state"]
