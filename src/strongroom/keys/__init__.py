"""Per-user keys: create, encrypt, decrypt, rotate, rewrap, policy, crypto-shredding."""
