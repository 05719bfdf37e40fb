"""Rate limiting in Redis, shared by every execution environment."""

from collections.abc import Callable

from app.settings import Settings
from tests.conftest import Invoke
from tests.helpers import bearer


def test_limit_gives_429_with_retry_after(
    make_invoke: Callable[..., Invoke], make_settings: Callable[..., Settings]
) -> None:
    invoke = make_invoke(settings=make_settings(rate_limit="3/minute"))
    missing = "/v1/items/" + "0" * 32
    statuses = [invoke("GET", missing, headers=bearer()).status_code for _ in range(3)]
    assert statuses == [404, 404, 404]
    limited = invoke("GET", missing, headers=bearer())
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.headers["x-content-type-options"] == "nosniff"


def test_two_environments_share_the_limit(
    make_invoke: Callable[..., Invoke], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(rate_limit="2/minute")
    first, second = make_invoke(settings=settings), make_invoke(settings=settings)
    missing = "/v1/items/" + "0" * 32
    assert first("GET", missing, headers=bearer()).status_code == 404
    assert second("GET", missing, headers=bearer()).status_code == 404
    assert first("GET", missing, headers=bearer()).status_code == 429


def test_health_is_not_limited(
    make_invoke: Callable[..., Invoke], make_settings: Callable[..., Settings]
) -> None:
    invoke = make_invoke(settings=make_settings(rate_limit="1/minute"))
    assert all(invoke("GET", "/healthz").status_code == 200 for _ in range(5))


def test_bad_limit_syntax_is_refused_at_init(make_settings: Callable[..., Settings]) -> None:
    import pytest

    with pytest.raises(ValueError, match="rate limit"):
        make_settings(rate_limit="a lot")
