"""The update-handling core: dispatcher, context, routers, menus and the dialog engine."""
