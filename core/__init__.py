"""What every layer shares: settings, context, security, clock, ids, errors and scope.

Nothing here imports `server`, `schema` or `resolvers`; it rests on models, storage and pubsub.
"""
