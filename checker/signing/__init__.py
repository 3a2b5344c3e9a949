"""Signed monthly attestations: Ed25519 keys, DSSE envelopes, in-toto statements, chaining."""
