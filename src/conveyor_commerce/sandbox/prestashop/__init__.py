"""A local stand-in for a PrestaShop shop's Webservice (`../shared/APIS.md` section 2): real
auth, resources (products, categories, stock_availables), JSON and XML shapes, error bodies
and PUT's full-replace semantics, with injectable latency, 5xx, 429 with Retry-After, edits
made shop-side and deleted categories. It keeps its own log of the requests it answered, so
tests check what reached the shop (parents before children, no write when unchanged)."""

from conveyor_commerce.sandbox.prestashop.server import PrestaShopSandbox
from conveyor_commerce.sandbox.prestashop.state import DEFAULT_KEY, Request, ShopState

__all__ = ["DEFAULT_KEY", "PrestaShopSandbox", "Request", "ShopState"]
