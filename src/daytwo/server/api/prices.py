"""Model prices: what the server charges per token, and overrides of it."""

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from daytwo.pricing import ModelPrice, PriceOverride
from daytwo.server.deps import ServicesDep
from daytwo.server.errors import ERROR_RESPONSES, ApiError

router = APIRouter(prefix="/api/v1/prices", tags=["prices"], responses=ERROR_RESPONSES)


class PriceList(BaseModel):
    """Prices in US dollars per million tokens."""

    overrides: list[PriceOverride]
    models: list[ModelPrice]


@router.get("", response_model=PriceList, summary="List known model prices and overrides")
def list_prices(
    services: ServicesDep,
    model: str | None = Query(default=None, description="Only models containing this text"),
) -> PriceList:
    """Return the bundled price catalogue (genai-prices) and the overrides in force."""
    models = services.prices.known_models()
    if model:
        needle = model.lower()
        models = [price for price in models if needle in price.model.lower()]
    return PriceList(overrides=services.price_overrides.load(), models=models)


@router.get("/lookup", response_model=ModelPrice, summary="The price used for one model")
def lookup_price(
    services: ServicesDep,
    model: str = Query(description="Model name as spans report it"),
    provider: str | None = Query(default=None),
) -> ModelPrice:
    """Return the price the server applies to ``model``, override or bundled."""
    services.price_overrides.refresh_if_stale(services.prices)
    price = services.prices.price_of(model=model, provider=provider)
    if price is None:
        raise ApiError(404, f"no price known for model {model!r}; add an override to price it")
    return price


@router.put("/overrides", response_model=PriceOverride, summary="Set a price override")
def put_override(services: ServicesDep, override: PriceOverride) -> PriceOverride:
    """Create or replace the override for ``model`` (and ``provider``, if given).

    New spans are priced with it; spans already stored keep the cost they had.
    """
    services.price_overrides.put(override)
    services.prices.replace_overrides(services.price_overrides.load())
    return override


@router.delete("/overrides", status_code=204, summary="Remove a price override")
def delete_override(
    services: ServicesDep,
    model: str = Query(min_length=1),
    provider: str | None = Query(default=None),
) -> Response:
    """Remove the override for ``model`` and ``provider``; 404 if there is none."""
    if not services.price_overrides.delete(model, provider):
        raise ApiError(404, f"no price override for model {model!r} and provider {provider!r}")
    services.prices.replace_overrides(services.price_overrides.load())
    return Response(status_code=204)
