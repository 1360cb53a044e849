"""Every error the commerce kit raises on purpose. Each derives from `conveyor.ConveyorError`,
so a caller catching Conveyor's errors catches these too, and names the message, the account,
the field and the rule that was broken."""

from __future__ import annotations

from conveyor import ConveyorError


class CommerceError(ConveyorError):
    """Base class of the commerce kit's errors."""


class InvalidMessage(CommerceError):
    """A message cannot be scheduled or edited as given (recipient, text, template, time);
    nothing was stored."""


class AccountNotFound(CommerceError):
    """No WhatsApp account with that id or name."""


class InvalidAccount(CommerceError):
    """An account's settings are invalid (rate above throughput, bad version, ...)."""


class MessageNotFound(CommerceError):
    """No message with that id."""


class InvalidTransition(CommerceError):
    """The action does not apply to the message in its current status (e.g. editing a message
    that is being sent)."""


class SecretKeyError(CommerceError):
    """The encryption key in the environment is malformed, or a stored token cannot be
    decrypted with it."""


class InvalidCart(CommerceError):
    """A cart cannot be stored as given (phone, items, total, currency, time zone); nothing
    was stored."""


class CartNotFound(CommerceError):
    """No cart with that id (or order id)."""


class InvalidCampaign(CommerceError):
    """A campaign cannot be created or changed as asked (bad recipient list, content, chunk
    size, or an action its status does not allow); nothing was stored."""


class CampaignNotFound(CommerceError):
    """No campaign with that id."""


class ShopNotFound(CommerceError):
    """No PrestaShop shop with that id or name."""


class CatalogNotFound(CommerceError):
    """No product or category with that id or reference."""


class InvalidCatalog(CommerceError):
    """A shop, category or product cannot be stored as given (URL, key, reference, price,
    parent, priority, ...); nothing was stored."""
