"""The HTTP API over the store: registry, readings, events, alerts, rules, SSE; dashboard host."""
