"""What each operation does. Resolvers hold the rules; schema types stay thin."""
