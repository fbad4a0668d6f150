"""Root-key backends behind one protocol, chosen by ``STRONGROOM_KMS``."""
