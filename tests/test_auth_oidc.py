"""How an identity provider's claims map to an account: one table of claims, accounts and outcomes."""

from __future__ import annotations

import pytest

from cspdash import auth
from cspdash.auth import User

ACCOUNTS = {
    "chair-a@example.org": User("chair-a@example.org", "chair", ("asb",)),
    "viewer@example.org": User("viewer@example.org", "viewer"),
    "old@example.org": User("old@example.org", "admin", disabled=True),
}

# (the ID token's claims, the account expected or None, words the refusal must contain)
CASES = [
    ({"email": "chair-a@example.org"}, "chair-a@example.org", ""),
    ({"email": "  Viewer@Example.ORG "}, "viewer@example.org", ""),  # stored lower-case and trimmed
    ({"email": "viewer@example.org", "email_verified": True}, "viewer@example.org", ""),
    ({"email": "viewer@example.org", "preferred_username": "someone@else.org"}, "viewer@example.org", ""),
    ({"email": "viewer@example.org", "email_verified": False}, None, "viewer@example.org is not verified"),
    ({"email": "viewer@example.org", "email_verified": "false"}, None, "is not verified"),  # some send strings
    ({"email": "stranger@example.org"}, None, "there is no account for stranger@example.org"),
    ({"email": "old@example.org"}, None, "the account old@example.org is disabled"),
    ({"sub": "abc", "preferred_username": "viewer@example.org"}, None, "did not say your e-mail address"),
    ({"email": ""}, None, "did not say your e-mail address"),
    ({"email": None}, None, "did not say your e-mail address"),
]


@pytest.mark.parametrize(("claims", "expected", "refusal"), CASES)
def test_provider_claims_map_to_an_enabled_account(claims, expected, refusal):
    user, why = auth.provider_account(claims, ACCOUNTS.get)
    assert (user.email if user else None) == expected
    assert refusal in why and bool(why) == (expected is None)
    assert "ask the CSP analyst" in why or not why
