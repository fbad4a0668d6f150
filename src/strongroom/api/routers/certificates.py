"""Certificates: the inventory (import, list, read, export with the private key,
revoke) and the optional internal CA (authorities, roles, issue, CRL)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from strongroom.access.permissions import Permission
from strongroom.api.certificate_schemas import (
    CertificateAuthorityList,
    CertificateAuthorityOut,
    CertificateAuthorityRequest,
    CertificateDetail,
    CertificateExportOut,
    CertificateExportRequest,
    CertificateImportOut,
    CertificateImportRequest,
    CertificateIssueRequest,
    CertificateList,
    CertificateListQuery,
    CertificateOut,
    CertificateRevokeRequest,
    CertificateRoleList,
    CertificateRoleOut,
    CertificateRoleRequest,
    IssuedCertificateOut,
)
from strongroom.api.deps import require, services
from strongroom.context import Actor
from strongroom.pki.authority import AuthorityView
from strongroom.pki.errors import BadCertificate
from strongroom.pki.inventory import Format
from strongroom.pki.issue import IssueRequest
from strongroom.pki.models import CertQuery
from strongroom.services.container import Services

router = APIRouter(prefix="/api/v1/certificates", tags=["certificates"])
ca_router = APIRouter(prefix="/api/v1/certificate-authorities", tags=["certificates"])
Svc = Annotated[Services, Depends(services)]
FingerprintPath = Annotated[str, Path(max_length=100, examples=["a3" * 32])]
NAME = r"^[a-z][a-z0-9-]{0,63}$"  # pki/authority.py NAME
AuthorityPath = Annotated[str, Path(pattern=NAME, examples=["internal"])]
RolePath = Annotated[str, Path(pattern=NAME, examples=["web"])]


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise BadCertificate("not base64") from None


@router.post("", status_code=201, response_model=CertificateImportOut)
async def import_certificates(
    body: CertificateImportRequest,
    svc: Svc,
    actor: Annotated[Actor, Depends(require(Permission.CERTIFICATES_IMPORT))],
) -> CertificateImportOut:
    fmt: Format
    if body.pem is not None:
        fmt, data = "pem", body.pem.encode()
    elif body.der is not None:
        fmt, data = "der", _b64(body.der)
    else:
        fmt, data = "pkcs12", _b64(body.pkcs12 or "")
    done = await svc.certificates.import_bundle(
        actor,
        fmt,
        data,
        body.password,
        body.renews.lower().replace(":", "") if body.renews else None,
    )
    return CertificateImportOut(
        leaf=done.leaf,
        certificates=[CertificateOut.of(c) for c in done.certificates],
        created=list(done.created),
    )


@router.get("", response_model=CertificateList)
async def list_certificates(
    q: Annotated[CertificateListQuery, Query()],
    svc: Svc,
    actor: Annotated[Actor, Depends(require(Permission.CERTIFICATES_READ))],
) -> CertificateList:
    query = CertQuery(q.expiresBefore, q.issuer, q.san, q.cursor, q.limit)
    found = await svc.certificates.list(actor, query)
    return CertificateList(
        items=[CertificateOut.of(c) for c in found.items], nextCursor=found.next_cursor
    )


@router.get("/{fingerprint}", response_model=CertificateDetail)
async def get_certificate(
    fingerprint: FingerprintPath,
    svc: Svc,
    actor: Annotated[Actor, Depends(require(Permission.CERTIFICATES_READ))],
) -> CertificateDetail:
    return CertificateDetail.of(await svc.certificates.get(actor, fingerprint))


@router.post("/{fingerprint}/export", response_model=CertificateExportOut)
async def export_certificate(
    fingerprint: FingerprintPath,
    body: CertificateExportRequest,
    svc: Svc,
    actor: Annotated[Actor, Depends(require(Permission.CERTIFICATES_EXPORT))],
) -> CertificateExportOut:
    """The certificate, its chain and its private key (audited before it answers)."""
    out = await svc.certificates.export(actor, fingerprint, body.format, body.password)
    data = out.data.decode("ascii") if out.format == "pem" else base64.b64encode(out.data).decode()
    return CertificateExportOut(fingerprint=out.fingerprint, format=out.format, data=data)


@router.post("/{fingerprint}/revoke", response_model=CertificateDetail)
async def revoke_certificate(
    fingerprint: FingerprintPath,
    body: CertificateRevokeRequest,
    svc: Svc,
    actor: Annotated[Actor, Depends(require(Permission.CERTIFICATES_REVOKE))],
) -> CertificateDetail:
    """Marks it revoked (expired ones too); its CA's CRL lists it. Idempotent."""
    return CertificateDetail.of(await svc.certificates.revoke(actor, fingerprint, body.reason))


# internal CA ----------------------------------------------------------------------
def _authority(a: AuthorityView) -> CertificateAuthorityOut:
    return CertificateAuthorityOut(
        name=a.name,
        parent=a.parent,
        certificate=CertificateOut.of(a.certificate),
        chainPem=a.chain_pem,
    )


@ca_router.post("", status_code=201, response_model=CertificateAuthorityOut)
async def create_authority(
    body: CertificateAuthorityRequest,
    svc: Svc,
    actor: Annotated[Actor, Depends(require(Permission.CERTIFICATES_ADMIN))],
) -> CertificateAuthorityOut:
    """A root CA, or with ``parent`` an intermediate under one of the tenant's CAs."""
    made = await svc.authorities.create(
        actor, body.name, body.commonName, body.keyType, body.ttlDays, body.parent
    )
    return _authority(made)


@ca_router.get("", response_model=CertificateAuthorityList)
async def list_authorities(
    svc: Svc, actor: Annotated[Actor, Depends(require(Permission.CERTIFICATES_READ))]
) -> CertificateAuthorityList:
    return CertificateAuthorityList(
        items=[_authority(a) for a in await svc.authorities.list(actor)]
    )


@ca_router.put("/{authority}/roles/{role}", response_model=CertificateRoleOut)
async def put_role(
    authority: AuthorityPath,
    role: RolePath,
    body: CertificateRoleRequest,
    svc: Svc,
    actor: Annotated[Actor, Depends(require(Permission.CERTIFICATES_ADMIN))],
) -> CertificateRoleOut:
    policy = await svc.authorities.put_role(actor, authority, role, body.policy())
    return CertificateRoleOut.of(role, policy)


@ca_router.get("/{authority}/roles", response_model=CertificateRoleList)
async def list_roles(
    authority: AuthorityPath,
    svc: Svc,
    actor: Annotated[Actor, Depends(require(Permission.CERTIFICATES_READ))],
) -> CertificateRoleList:
    found = await svc.authorities.roles(actor, authority)
    return CertificateRoleList(items=[CertificateRoleOut.of(n, p) for n, p in found.items()])


@ca_router.post("/{authority}/issue", status_code=201, response_model=IssuedCertificateOut)
async def issue_certificate(
    authority: AuthorityPath,
    body: CertificateIssueRequest,
    svc: Svc,
    actor: Annotated[Actor, Depends(require(Permission.CERTIFICATES_ISSUE))],
) -> IssuedCertificateOut:
    """Within the role's limits, or refused (``PKI011``, never truncated)."""
    req = IssueRequest(
        csr_pem=body.csr,
        common_name=body.commonName,
        dns_sans=tuple(body.dnsNames),
        ip_sans=tuple(body.ipAddresses),
        ttl_days=body.ttlDays,
        not_after=body.notAfter,
        key_type=body.keyType,
    )
    done = await svc.authorities.issue(actor, authority, body.role, req)
    return IssuedCertificateOut(
        certificate=CertificateDetail.of(done.certificate),
        chainPem=done.chain_pem,
        privateKeyPem=done.private_key_pem,
    )


@ca_router.get(
    "/{authority}/crl",
    response_class=Response,
    responses={200: {"content": {"application/pkix-crl": {}}, "description": "DER CRL"}},
)
async def get_crl(
    authority: AuthorityPath,
    svc: Svc,
    actor: Annotated[Actor, Depends(require(Permission.CERTIFICATES_READ))],
) -> Response:
    """The CA's certificate revocation list, DER, freshly signed."""
    crl = await svc.authorities.crl(actor, authority)
    return Response(crl, media_type="application/pkix-crl")
