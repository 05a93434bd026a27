"""What integrators use beside `/agc/api.php`: the `/api/v1/` endpoints, their callers, events and webhooks."""
