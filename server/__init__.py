"""The running service: settings, app factory, context and auth, pub/sub, CLI."""
