"""The storefront: what a partner app's page shows and holds for a shopper (DESIGN §13).

Browsing (the channel's listings that reach a point, with price and promise), pickup points
near a point, carts (a short-lived, capped quote with a client secret), the embeddable
widget (`assets/widget.js`) and a demo partner page. Reached with the channel's publishable
key from its allowed origins (`gateway.http.cors`), or its secret key.
"""
