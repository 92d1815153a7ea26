"""Pure ASGI middleware (no BaseHTTPMiddleware: request bodies and responses stay streamed)."""
