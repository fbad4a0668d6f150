"""Pure cryptographic functions: suites, envelopes and the ciphertext codec.

Nothing in this package performs I/O or imports from the rest of the project.
"""
