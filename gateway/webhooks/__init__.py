"""Webhooks: endpoints that subscribe to the outbox, and the worker that delivers it to them
(DESIGN §8, Standard Webhooks v1). The pure parts are `signing`, `schedule`, `filters` and
`ssrf`'s address rules; `fanout` and `delivery` are the worker's two steps; `services` and
`controllers` are the API."""
