"""`python -m app.dev_token` gives a newcomer a key and a token the service accepts."""

import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from itertools import pairwise
from pathlib import Path

from fastapi.testclient import TestClient

from app.settings import Settings

MakeClient = Callable[..., AbstractContextManager[TestClient]]


def test_the_dev_token_is_accepted_by_a_service_configured_with_its_exports(
    make_client: MakeClient, make_settings: Callable[..., Settings]
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.dev_token", "--subject", "newcomer"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path.cwd())},
    )
    # As the shell reads it: the PEM value spans lines inside its quotes.
    words = shlex.split(result.stdout)
    exports = dict(
        word.partition("=")[::2] for before, word in pairwise(words) if before == "export"
    )
    settings = make_settings(
        jwt_issuer=exports["JWT_ISSUER"],
        jwt_audience=exports["JWT_AUDIENCE"],
        jwt_public_key=exports["JWT_PUBLIC_KEY"],
        jwt_jwks_url=None,
    )
    with make_client(settings=settings) as client:
        response = client.post(
            "/v1/items",
            json={"name": "first item", "price_cents": 250},
            headers={"Authorization": f"Bearer {exports['TOKEN']}"},
        )

    assert result.stdout.splitlines()[0] == "unset JWT_JWKS_URL"
    assert response.status_code == 201
