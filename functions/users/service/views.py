"""The seed's JSON shapes of a user (camelCase), built from the domain object."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from users.domain.model import User


def summary(user: User) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "firstName": user.first_name, "lastName": user.last_name}


def profile(user: User) -> dict[str, Any]:
    """Everything the owner (or an admin) may see; never the password hash."""
    address = asdict(user.address) if user.address else None
    if address is not None:
        address["zipCode"] = address.pop("zip_code")
    return {
        **summary(user),
        "role": user.role,
        "dateOfBirth": user.date_of_birth.isoformat() if user.date_of_birth else None,
        "phoneNumber": user.phone_number,
        "address": address,
        "preferences": asdict(user.preferences),
        "createdAt": user.created_at,
        "updatedAt": user.updated_at,
    }
