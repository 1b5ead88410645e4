"""Device interfaces (typing.Protocol) and their value types."""
