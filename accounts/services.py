from dataclasses import dataclass

from django.contrib.auth.hashers import check_password, make_password
from django.db import IntegrityError, transaction

from accounts.models import Account
from common import keys
from common.errors import AuthenticationFailed, Conflict


@dataclass(frozen=True)
class RegisteredAccount:
    account: Account
    api_key: str  # shown once
    api_secret: str  # shown once


@transaction.atomic
def account_register(*, email: str, password: str, display_name: str) -> RegisteredAccount:
    key = keys.new_key()
    secret = keys.new_secret()
    try:
        with transaction.atomic():
            account = Account.objects.create_user(
                email=email, password=password, display_name=display_name,
                api_key_lookup=key.lookup, api_key_hash=key.digest, api_secret_hash=make_password(secret),
            )
    except IntegrityError:
        raise Conflict("An account with this email already exists.", code="EMAIL_TAKEN",
                       details={"email": email}) from None
    return RegisteredAccount(account=account, api_key=key.plaintext, api_secret=secret)


def account_by_api_credentials(*, api_key: str, api_secret: str) -> Account:
    lookup = keys.lookup_of(api_key)
    account = None
    if lookup is not None:
        account = next((a for a in Account.objects.filter(api_key_lookup=lookup)
                        if keys.digest_matches(api_key, a.api_key_hash)), None)
    if account is None or not account.is_active or not check_password(api_secret, account.api_secret_hash):
        raise AuthenticationFailed("Invalid API key or secret.")
    return account
