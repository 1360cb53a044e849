"""The built-in pages, one module each; every module exposes `routes()`."""
