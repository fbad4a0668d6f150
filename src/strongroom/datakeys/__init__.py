"""Per-tenant data keys and the sealing of server-side values with them.

Vault secrets, shares, CA private keys and stored API keys are sealed with
``Sealer`` (AES-256-GCM per record, crypto/sealed.py) under their tenant's data key,
which is stored only wrapped by the KMS (``tenant_data_keys``). Its own layer below
the domains so that every domain seals the same way without importing another.
"""

from strongroom.datakeys.sealer import Purpose, Sealer
from strongroom.errors import SealedDataInvalid

__all__ = ["Purpose", "SealedDataInvalid", "Sealer"]
