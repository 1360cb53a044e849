"""Conveyor's commerce kit: WhatsApp Cloud API accounts, a client, scheduled messages with
delivery-status webhooks (part 1); carts with abandoned-cart reminders, order notifications and
broadcast campaigns (part 2, `commerce.carts`, `commerce.campaigns`); a product catalogue
synchronised to PrestaShop shops (part 3, `commerce.catalog`); and sandboxes that play Meta and
a PrestaShop shop in tests and demos.

Built only on Conveyor's public API. Usage:

    from conveyor import Conveyor
    from conveyor_commerce import Commerce, Template

    app = Conveyor("sqlite:///shop.db")
    commerce = Commerce(app)            # declares the kit's jobs on app
    shop = commerce.accounts.add("shop", phone_number_id="106540352242922", token=...)
    commerce.messages.schedule("shop", "+48 600 100 200", "Your order shipped", offset="+30m")

Names are imported on first use: `conveyor` loads this package's command group at every start
(the `conveyor.cli_plugins` entry point), which must not cost it the kit's dependencies.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conveyor_commerce.campaigns.model import (
        Campaign,
        CampaignSettings,
        CampaignStatus,
        RecipientStatus,
    )
    from conveyor_commerce.carts.model import (
        Cart,
        CartFilter,
        CartStats,
        CartStatus,
    )
    from conveyor_commerce.catalog.model import (
        CatalogSettings,
        Category,
        Product,
        Shop,
        SyncStatus,
    )
    from conveyor_commerce.catalog.service import (
        Catalog,
    )
    from conveyor_commerce.errors import (
        AccountNotFound,
        CampaignNotFound,
        CartNotFound,
        CatalogNotFound,
        CommerceError,
        InvalidAccount,
        InvalidCampaign,
        InvalidCart,
        InvalidCatalog,
        InvalidMessage,
        InvalidTransition,
        MessageNotFound,
        SecretKeyError,
        ShopNotFound,
    )
    from conveyor_commerce.kit import (
        Commerce,
        CommerceSettings,
    )
    from conveyor_commerce.messages.model import (
        DeliveryStatus,
        Message,
        MessageFilter,
        MessageStatus,
    )
    from conveyor_commerce.messages.service import (
        BulkResult,
    )
    from conveyor_commerce.vault import (
        Secret,
    )
    from conveyor_commerce.whatsapp.accounts import (
        Account,
    )
    from conveyor_commerce.whatsapp.payloads import (
        Button,
        Template,
        Text,
    )

_HOMES = {
    "conveyor_commerce.campaigns.model": ("Campaign", "CampaignSettings", "CampaignStatus",
                                          "RecipientStatus"),
    "conveyor_commerce.carts.model": ("Cart", "CartFilter", "CartStats", "CartStatus"),
    "conveyor_commerce.catalog.model": ("CatalogSettings", "Category", "Product", "Shop",
                                        "SyncStatus"),
    "conveyor_commerce.catalog.service": ("Catalog",),
    "conveyor_commerce.errors": ("AccountNotFound", "CampaignNotFound", "CartNotFound",
                                 "CatalogNotFound", "CommerceError", "InvalidAccount",
                                 "InvalidCampaign", "InvalidCart", "InvalidCatalog",
                                 "InvalidMessage", "InvalidTransition", "MessageNotFound",
                                 "SecretKeyError", "ShopNotFound"),
    "conveyor_commerce.kit": ("Commerce", "CommerceSettings"),
    "conveyor_commerce.messages.model": ("DeliveryStatus", "Message", "MessageFilter",
                                         "MessageStatus"),
    "conveyor_commerce.messages.service": ("BulkResult",),
    "conveyor_commerce.vault": ("Secret",),
    "conveyor_commerce.whatsapp.accounts": ("Account",),
    "conveyor_commerce.whatsapp.payloads": ("Button", "Template", "Text"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "Account",
    "AccountNotFound",
    "BulkResult",
    "Button",
    "Campaign",
    "CampaignNotFound",
    "CampaignSettings",
    "CampaignStatus",
    "Cart",
    "CartFilter",
    "CartNotFound",
    "CartStats",
    "CartStatus",
    "Catalog",
    "CatalogNotFound",
    "CatalogSettings",
    "Category",
    "Commerce",
    "CommerceError",
    "CommerceSettings",
    "DeliveryStatus",
    "InvalidAccount",
    "InvalidCampaign",
    "InvalidCart",
    "InvalidCatalog",
    "InvalidMessage",
    "InvalidTransition",
    "Message",
    "MessageFilter",
    "MessageNotFound",
    "MessageStatus",
    "Product",
    "RecipientStatus",
    "Secret",
    "SecretKeyError",
    "Shop",
    "ShopNotFound",
    "SyncStatus",
    "Template",
    "Text",
]


def __getattr__(name: str) -> Any:
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'conveyor_commerce' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
