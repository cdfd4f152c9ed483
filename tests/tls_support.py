"""Certificates for the TLS tests, made by the test with ``cryptography``: a CA of the test's own,
a server certificate it signs for 127.0.0.1 and localhost, a client certificate it signs, and the
wrong kinds (an encrypted key, a key that belongs to no certificate here).

``make(directory, name)`` writes them as PEM files and returns their paths; nothing leaves the
test's directory.
"""

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_DAY = datetime.timedelta(days=1)


@dataclass
class Files:
    ca: Path
    cert: Path
    key: Path
    client_cert: Path
    client_key: Path
    # The client certificate's subject as RFC 4514 writes it (cryptography's own rendering).
    client_subject: str
    encrypted_key: Path
    other_key: Path
    # Signed by a CA the server does not know.
    stranger_cert: Path
    stranger_key: Path


def _name(common_name, unit=None):
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
                  x509.NameAttribute(NameOID.ORGANIZATION_NAME, "wsgiref-rs tests")]
    if unit is not None:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _certificate(subject, key, issuer, issuer_key, *, ca=False, server=False, client=False):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(subject).issuer_name(issuer).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - _DAY).not_valid_after(now + 30 * _DAY)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               # Python 3.13's default context verifies strictly (VERIFY_X509_STRICT), which
               # wants the key identifiers real CAs put in.
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                              critical=False)
               .add_extension(
                   x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                   critical=False))
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                          content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, encipher_only=False,
                          decipher_only=False), critical=True)
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        ]), critical=False).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    if client:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(path, key, password=None):
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8, encryption))


def _write_cert(path, *certs):
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))


def make(directory, name="server"):
    """Write a CA, a server certificate named ``name`` and the rest into ``directory``."""
    directory = Path(directory)
    ca_key, server_key, client_key, stranger_ca_key, stranger_key = (_key() for _ in range(5))
    ca_name = _name("wsgiref-rs test CA")
    ca = _certificate(ca_name, ca_key, ca_name, ca_key, ca=True)
    server = _certificate(_name(name), server_key, ca_name, ca_key, server=True)
    client_name = _name("client, the first", unit="tests+more")
    client = _certificate(client_name, client_key, ca_name, ca_key, client=True)
    stranger_ca_name = _name("a CA nobody trusts")
    stranger = _certificate(_name("stranger"), stranger_key, stranger_ca_name, stranger_ca_key,
                            client=True)
    files = Files(
        ca=directory / "ca.pem", cert=directory / f"{name}.pem",
        key=directory / f"{name}.key", client_cert=directory / "client.pem",
        client_key=directory / "client.key", client_subject=client_name.rfc4514_string(),
        encrypted_key=directory / "encrypted.key", other_key=directory / "other.key",
        stranger_cert=directory / "stranger.pem", stranger_key=directory / "stranger.key",
    )
    _write_cert(files.ca, ca)
    _write_cert(files.cert, server)
    _write_key(files.key, server_key)
    _write_cert(files.client_cert, client)
    _write_key(files.client_key, client_key)
    _write_key(files.encrypted_key, server_key, password=b"secret")
    _write_key(files.other_key, _key())
    _write_cert(files.stranger_cert, stranger)
    _write_key(files.stranger_key, stranger_key)
    return files
