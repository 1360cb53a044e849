"""The PrestaShop Webservice: an async client (`client`), its XML bodies (`xmlio`) and the one
table that decides what each error does to a sync job (`codes`)."""
