"""Commerce kit, part 3: a local product catalogue synchronised to PrestaShop shops in the
background - shops (`shops`), categories and products (`store`), what a product or category
looks like to a shop (`payload`), the sync jobs (`syncing`, `bulk`, declared in `jobs`) and the
Python API on top (`service.Catalog`, `commerce.catalog`)."""
