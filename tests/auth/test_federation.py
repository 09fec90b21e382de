"""Entra's client assertion (RFC 7523) at the token endpoint, against a local JWKS over HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest

from scim.app import App
from scim.auth.clients import NewClient
from scim.auth.federation import ASSERTION_TYPE, REFETCH_SECONDS, FederationVerifier, JwksCache, make_federation
from scim.config import SettingsError, load_settings
from scim.service.admin import AdminService
from tests.auth.helpers import FORM, b64
from tests.auth.jwks import AUDIENCE, SUBJECT, TENANT, EntraDouble, Signer, claims
from tests.support.app import CLIENT_ID, CLIENT_SECRET, Client, Reply

USERS = "/scim/v2/Users"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Federated:
    app: App
    client_id: str
    clock: Clock
    entra: EntraDouble
    signer: Signer
    http: Client

    def assertion(self, **changes: Any) -> str:
        return self.signer.sign(claims(self.entra.issuer(), **changes))

    async def exchange(self, assertion: str, *, client_id: str | None = None, **extra: str) -> Reply:
        form = {
            "grant_type": "client_credentials",
            "client_id": client_id or self.client_id,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
            "scope": "scim",
            **extra,
        }
        headers = {"content-type": FORM, "x-forwarded-for": "127.0.0.1"}
        return await self.http.post("/oauth2/token", raw=urlencode(form).encode(), headers=headers, token=None)


@pytest.fixture
async def fed(app: App, entra: EntraDouble, signer: Signer) -> Federated:
    clock = Clock()
    app.token_endpoint.federation = FederationVerifier(
        entra.jwks_template, entra.issuer_template, keys=JwksCache(clock=clock)
    )
    admin = AdminService(app.store, app.clients, app.tokens)
    await admin.ensure_directory("fed")
    federation = make_federation(TENANT, AUDIENCE, SUBJECT, None)
    registration = await admin.create_client(NewClient("fed", ["127.0.0.0/8"], federation=federation))
    assert registration.secret == ""  # secret-less: the assertion stands in for it
    return Federated(app, registration.client.id, clock, entra, signer, Client(None))


def _refused(reply: Reply, status: int, error: str, says: str, assertion: str) -> None:
    assert reply.status == status, reply.body
    doc = reply.json
    assert doc["error"] == error
    assert says in doc["error_description"]
    for part in assertion.split("."):
        if len(part) > 8:
            assert part not in reply.body.decode()  # RFC 6749 §5.2 description, never an echo of the assertion


async def test_a_good_assertion_gets_a_token_that_works_on_users(fed: Federated) -> None:
    assertion = fed.assertion()
    reply = await fed.exchange(assertion)
    assert reply.status == 200, reply.body
    doc = reply.json
    assert doc["token_type"] == "Bearer" and doc["expires_in"] == 3600 and doc["scope"] == "scim"
    assert assertion not in reply.body.decode()
    listed = await Client(doc["access_token"]).get(USERS)
    assert listed.status == 200, listed.body
    assert listed.json["totalResults"] == 0


async def test_ps256_is_accepted_and_the_ttl_range_applies(fed: Federated) -> None:
    reply = await fed.exchange(fed.signer.sign(claims(fed.entra.issuer()), alg="PS256"), ttl="360")
    assert reply.status == 200, reply.body
    assert reply.json["expires_in"] == 21600


async def test_a_bare_app_id_audience_names_the_same_app(fed: Federated) -> None:
    # Microsoft's pages show api://<app id> and the bare app id; both name one app registration.
    reply = await fed.exchange(fed.assertion(aud=AUDIENCE.removeprefix("api://")))
    assert reply.status == 200, reply.body


def _hs256_with_public_key(fed: Federated) -> str:
    """The key-confusion forgery: HMAC keyed with the tenant's public key, which anyone can download."""
    header = b64(b'{"alg":"HS256","typ":"JWT","kid":"' + fed.signer.kid.encode() + b'"}')
    body = b64(json.dumps(claims(fed.entra.issuer())).encode())
    mac = hmac.new(fed.signer.public_pem.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64(mac)}"


REFUSALS: dict[str, tuple[Callable[[Federated], str], str]] = {
    "wrong issuer": (lambda f: f.assertion(iss="https://login.microsoftonline.com/" + TENANT + "/v2.0"), "(iss)"),
    "wrong audience": (lambda f: f.assertion(aud="api://00000000-0000-0000-0000-000000000001"), "(aud)"),
    "wrong subject": (lambda f: f.assertion(sub="00000000-0000-0000-0000-000000000002"), "(sub)"),
    "wrong tenant": (lambda f: f.assertion(tid="00000000-0000-0000-0000-000000000003"), "(tid)"),
    "expired": (lambda f: f.assertion(iat=1_700_000_000, nbf=1_700_000_000, exp=1_700_003_900), "expired (exp)"),
    "not yet valid": (lambda f: f.assertion(nbf=2_000_000_000, exp=2_000_003_900), "not valid yet"),
    "no tid claim": (lambda f: f.assertion(tid=None), "no tid claim"),
    "unknown kid": (lambda f: Signer().sign(claims(f.entra.issuer())), "(kid)"),
    "signed by another key with Entra's kid": (
        lambda f: Signer().sign(claims(f.entra.issuer()), kid=f.signer.kid),
        "signature",
    ),
    "HS256 with the public key as secret": (_hs256_with_public_key, "RS256 or PS256"),
    "alg none": (
        lambda f: jwt.encode(claims(f.entra.issuer()), "", algorithm="none", headers={"kid": f.signer.kid}),
        "RS256 or PS256",
    ),
    "not a JWT": (lambda f: "not-a-jwt", "well-formed"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
async def test_each_bad_assertion_is_invalid_client_naming_the_claim(fed: Federated, case: str) -> None:
    forge, says = REFUSALS[case]
    assertion = forge(fed)
    _refused(await fed.exchange(assertion), 401, "invalid_client", says, assertion)


async def test_a_replayed_jti_is_refused_within_its_lifetime(fed: Federated) -> None:
    assertion = fed.assertion()
    assert (await fed.exchange(assertion)).status == 200
    _refused(await fed.exchange(assertion), 401, "invalid_client", "already used", assertion)


async def test_jwks_outage_after_a_first_fetch_keeps_the_cached_keys(fed: Federated) -> None:
    assert (await fed.exchange(fed.assertion())).status == 200
    fed.entra.down = True
    fed.clock.now += 2 * 24 * 3600  # past the daily refresh: the refresh fails, the cached key still verifies
    reply = await fed.exchange(fed.assertion())
    assert reply.status == 200, reply.body
    # A kid the cache does not hold cannot be checked during the outage: retry later, not "bad credentials".
    fed.clock.now += REFETCH_SECONDS
    unknown = Signer().sign(claims(fed.entra.issuer()))
    _refused(await fed.exchange(unknown), 503, "temporarily_unavailable", "retry", unknown)


async def test_jwks_outage_before_any_fetch_is_503_not_500(fed: Federated) -> None:
    fed.entra.down = True
    assertion = fed.assertion()
    reply = await fed.exchange(assertion)
    _refused(reply, 503, "temporarily_unavailable", "signing keys", assertion)
    assert reply.headers.get("Retry-After") == "30"


async def test_jwks_unreachable_before_any_fetch_is_503(fed: Federated) -> None:
    fed.app.token_endpoint.federation = FederationVerifier(
        "http://127.0.0.1:9/{tenant}/keys", fed.entra.issuer_template, keys=JwksCache(clock=fed.clock)
    )
    assertion = fed.assertion()
    _refused(await fed.exchange(assertion), 503, "temporarily_unavailable", "signing keys", assertion)


async def test_an_unknown_kid_refetches_at_most_once_a_minute(fed: Federated) -> None:
    assert (await fed.exchange(fed.assertion())).status == 200
    assert fed.entra.fetches == 1
    rotated = Signer()
    fed.entra.keys = [fed.signer.jwk, rotated.jwk]  # Microsoft publishes a new key
    fed.clock.now += 10
    early = rotated.sign(claims(fed.entra.issuer()))
    _refused(await fed.exchange(early), 401, "invalid_client", "(kid)", early)
    assert fed.entra.fetches == 1  # within the minute: no refetch, so forged kids cannot hammer the JWKS
    fed.clock.now += REFETCH_SECONDS
    assert (await fed.exchange(rotated.sign(claims(fed.entra.issuer())))).status == 200
    assert fed.entra.fetches == 2


async def test_failed_assertions_are_throttled_like_secrets(fed: Federated) -> None:
    statuses = [(await fed.exchange(fed.assertion(sub="someone-else"))).status for _ in range(5)]
    assert statuses[:3] == [401, 401, 401]
    assert 429 in statuses[3:]


async def test_allowed_networks_apply(fed: Federated) -> None:
    await fed.app.clients.update(fed.client_id, networks=["10.0.0.0/8"])
    _refused(await fed.exchange(fed.assertion()), 403, "access_denied", "127.0.0.1", "")


async def test_a_disabled_or_unfederated_client_gets_no_token(fed: Federated) -> None:
    assertion = fed.assertion()
    _refused(await fed.exchange(assertion, client_id=CLIENT_ID), 401, "invalid_client", "workload identity", assertion)
    await fed.app.clients.update(fed.client_id, disabled=True)
    _refused(await fed.exchange(fed.assertion()), 401, "invalid_client", "disabled", "")


async def test_one_authentication_method_per_request(fed: Federated) -> None:
    assertion = fed.assertion()
    both = await fed.exchange(assertion, client_secret=CLIENT_SECRET)
    _refused(both, 400, "invalid_request", "not both", assertion)
    wrong_type = await fed.exchange(assertion, client_assertion_type="urn:ietf:params:oauth:other")
    _refused(wrong_type, 400, "invalid_request", "jwt-bearer", assertion)


async def test_the_token_is_confined_to_the_federated_clients_directory(fed: Federated) -> None:
    dev_token, _ = await fed.app.tokens.issue(CLIENT_ID, "dev", ttl=3600)
    made = await Client(dev_token).post(USERS, {"userName": "only-in-dev@example.com"})
    assert made.status == 201
    reply = await fed.exchange(fed.assertion())
    token = reply.json["access_token"]
    fed_http = Client(token)
    assert (await fed_http.get(USERS)).json["totalResults"] == 0
    assert (await fed_http.get(f"{USERS}/{made.json['id']}")).status == 404


def test_audience_forms_and_validation() -> None:
    scope_form = make_federation(TENANT.upper(), AUDIENCE + "/.default", SUBJECT, None)
    assert scope_form.tenant == TENANT and scope_form.audience == AUDIENCE  # Entra's page shows the scope form
    for bad in [("not-a-guid", AUDIENCE, SUBJECT, None), (TENANT, "", SUBJECT, None), (TENANT, AUDIENCE, None, None)]:
        with pytest.raises(ValueError):
            make_federation(*bad)
    with pytest.raises(ValueError, match="https"):
        make_federation(TENANT, AUDIENCE, SUBJECT, "http://evil.example/v2.0")


def test_url_template_settings() -> None:
    defaults = load_settings({})
    assert defaults.entra_jwks_url_template == "https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys"
    assert defaults.entra_issuer_template == "https://login.microsoftonline.com/{tenant}/v2.0"
    sovereign = load_settings({"SCIM_ENTRA_ISSUER_TEMPLATE": "https://login.microsoftonline.us/{tenant}/v2.0"})
    assert sovereign.entra_issuer_template == "https://login.microsoftonline.us/{tenant}/v2.0"
    with pytest.raises(SettingsError, match="SCIM_ENTRA_JWKS_URL_TEMPLATE must contain"):
        load_settings({"SCIM_ENTRA_JWKS_URL_TEMPLATE": "https://login.example/keys"})
    with pytest.raises(SettingsError, match="https"):
        load_settings({"SCIM_ENTRA_ISSUER_TEMPLATE": "http://login.example/{tenant}/v2.0"})


async def test_no_assertion_reaches_a_log_line(fed: Federated, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    good, bad = fed.assertion(), fed.assertion(sub="someone-else")
    assert (await fed.exchange(good)).status == 200
    assert (await fed.exchange(bad)).status == 401
    assert "sub check" in caplog.text  # the refusal is logged, by the claim that failed
    for part in good.split(".") + bad.split("."):
        assert part not in caplog.text


# Every form Microsoft documents for Entra's assertion, and the nearest undocumented ones, which stay refused.
# WIF = AzureAD/SCIMReferenceCode Workload-Identity-Federation-for-SCIM-Provisioning.md (2026-06-09);
# SETUP = the same repository's StandardLogicApp/SCIMTests_WorkloadIdentityFederation_Setup.md;
# LEARN = Microsoft Learn, "Tutorial: Develop and plan provisioning for a SCIM endpoint".
VARIANTS = [
    # (variant, claim changes given the double's issuer, accepted, source)
    ("issuer with /v2.0", lambda iss: {"iss": iss}, True, "WIF: Issuer login.microsoftonline.com/<tenant>/v2.0"),
    ("issuer without /v2.0", lambda iss: {"iss": iss.removesuffix("/v2.0")}, True, "SETUP: Token Issuer"),
    ("issuer with a trailing slash", lambda iss: {"iss": iss.removesuffix("v2.0")}, False, "documented nowhere"),
    ("the v1 sts.windows.net issuer", lambda iss: {"iss": f"https://sts.windows.net/{TENANT}/"}, False,
     "LEARN: that is Entra's own token (blank Secret Token), never an assertion"),
    ("aud api://<app id>", lambda iss: {"aud": AUDIENCE}, True, "WIF: the token example's aud"),
    ("aud as the bare app id", lambda iss: {"aud": AUDIENCE.removeprefix("api://")}, True,
     "SETUP: Audience = Application (client) ID"),
    ("aud in the scope form api://<app id>/.default", lambda iss: {"aud": AUDIENCE + "/.default"}, False,
     "WIF's setup table shows the scope form; a claim never carries it"),
    ("no jti, with uti", lambda iss: {"jti": None, "uti": "AbCdEfGhIjKlMnOpQrStUv"}, True,
     "WIF: the documented payload has no jti (RFC 7523 §3 makes it optional); Entra sends uti"),
]  # fmt: skip


@pytest.mark.parametrize(("variant", "change", "accepted", "source"), VARIANTS, ids=[v[0] for v in VARIANTS])
async def test_each_documented_variant_is_accepted_and_nothing_broader(
    fed: Federated, variant: str, change: Any, accepted: bool, source: str
) -> None:
    reply = await fed.exchange(fed.assertion(**change(fed.entra.issuer())))
    assert (reply.status == 200) is accepted, (variant, source, reply.body)


def test_an_admins_own_issuer_is_the_only_one_accepted() -> None:
    verifier = FederationVerifier()
    default = make_federation(TENANT, AUDIENCE, SUBJECT, None)
    assert verifier.issuers(default) == [
        f"https://login.microsoftonline.com/{TENANT}/v2.0",
        f"https://login.microsoftonline.com/{TENANT}",
    ]
    own = make_federation(TENANT, AUDIENCE, SUBJECT, f"https://login.microsoftonline.com/{TENANT}/v2.0")
    assert verifier.issuers(own) == [f"https://login.microsoftonline.com/{TENANT}/v2.0"]


@pytest.mark.parametrize(
    "template",
    [
        "https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys",  # WIF: JWKS
        "https://login.windows.net/{tenant}/discovery/v2.0/keys",  # SETUP: JWKS URI
    ],
)
def test_keys_on_either_documented_host(template: str) -> None:
    settings = load_settings({"SCIM_ENTRA_JWKS_URL_TEMPLATE": template})
    verifier = FederationVerifier(settings.entra_jwks_url_template)
    assert verifier.jwks_url(make_federation(TENANT, AUDIENCE, SUBJECT, None)) == template.format(tenant=TENANT)


def _ec_jwk(kid: str) -> dict[str, Any]:
    from cryptography.hazmat.primitives.asymmetric import ec

    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    return {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public)), "kid": kid, "use": "sig"}


NON_RSA_KEYS = {
    "EC": _ec_jwk("ec-key"),
    "oct": {"kty": "oct", "k": b64(b"k" * 32), "kid": "oct-key", "use": "sig"},
}


@pytest.mark.parametrize("alg", ["RS256", "PS256"])
@pytest.mark.parametrize("kty", list(NON_RSA_KEYS))
async def test_an_assertion_naming_a_non_rsa_key_is_401_counted_and_logs_no_traceback(
    fed: Federated, caplog: pytest.LogCaptureFixture, kty: str, alg: str
) -> None:
    """docs/security.md §2.1: only RSA keys verify; a tenant key of another type is a refusal, never a 500."""
    key = NON_RSA_KEYS[kty]
    fed.entra.keys = [fed.signer.jwk, key]
    header = b64(json.dumps({"alg": alg, "typ": "JWT", "kid": key["kid"]}).encode())
    body = b64(json.dumps(claims(fed.entra.issuer())).encode())
    assertion = f"{header}.{body}.{b64(b'x' * 256)}"
    with caplog.at_level(logging.INFO):
        statuses = []
        for _ in range(5):
            reply = await fed.exchange(assertion)
            statuses.append(reply.status)
            if reply.status == 401:
                _refused(reply, 401, "invalid_client", "RSA", assertion)
    assert statuses[:3] == [401, 401, 401] and 429 in statuses[3:], statuses  # each refusal counts (§5)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], caplog.text


EXPECTED_VALUES: dict[str, Callable[[Federated], str]] = {
    "wrong issuer": lambda f: f.entra.issuer(),
    "wrong audience": lambda f: AUDIENCE,
    "wrong subject": lambda f: SUBJECT,
    "wrong tenant": lambda f: TENANT,
}


@pytest.mark.parametrize("case", list(EXPECTED_VALUES))
async def test_the_configured_value_goes_to_the_log_not_to_the_caller(
    fed: Federated, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    """An unauthenticated caller learns which check failed, not the issuer, audience, subject or tenant it wanted."""
    forge, _ = REFUSALS[case]
    expected = EXPECTED_VALUES[case](fed)
    with caplog.at_level(logging.INFO, logger="scim.auth"):
        reply = await fed.exchange(forge(fed))
    assert reply.status == 401
    assert expected not in reply.body.decode() and expected.removeprefix("api://") not in reply.body.decode()
    assert any(expected in r.getMessage() for r in caplog.records if r.name == "scim.auth"), caplog.text
