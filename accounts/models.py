import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone


class AccountManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        if not email:
            raise ValueError("email is required")
        account = self.model(email=self.normalize_email(email).lower(), **extra)
        account.set_password(password)
        account.save(using=self._db)
        return account

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class Account(AbstractBaseUser, PermissionsMixin):
    """A person: logs in (JWT) and owns agents.

    Besides the password, an account has one API key pair for ``POST /auth/login``: the key is stored as a
    SHA-256 hash with an indexed lookup prefix, the secret through Django's password hashers (login is rare).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True, max_length=254)
    display_name = models.CharField(max_length=100)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    api_key_lookup = models.CharField(max_length=16, db_index=True, blank=True)
    api_key_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    api_secret_hash = models.CharField(max_length=128, blank=True)

    objects = AccountManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["display_name"]

    class Meta:
        ordering = ["date_joined"]

    def __str__(self):
        return self.email
