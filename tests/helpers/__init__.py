"""What the tests share: a real service, the GraphQL client, accounts, pictures and engines."""
