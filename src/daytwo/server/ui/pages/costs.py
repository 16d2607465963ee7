"""Cost settings: the price of each model, and the overrides that replace the bundled ones.

Prices come from the genai-prices catalogue bundled with daytwo; an override
set here (or in the overrides file) replaces it for new spans, as
``PUT /api/v1/prices/overrides`` does. Spans already stored keep their cost.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from daytwo.pricing import ModelPrice, PriceOverride
from daytwo.server.deps import Services, ServicesDep
from daytwo.server.ui.forms import read_form
from daytwo.server.ui.templating import render

router = APIRouter(include_in_schema=False)

PAGE = "/settings/costs"
SHOWN_MODELS = 200
PRICE_FIELDS = (
    ("input_per_mtok", "Input"),
    ("output_per_mtok", "Output"),
    ("cache_read_per_mtok", "Cache read"),
    ("cache_write_per_mtok", "Cache write"),
    ("reasoning_per_mtok", "Reasoning"),
)

FORM_FIELDS = ("model", "provider", *(name for name, _ in PRICE_FIELDS))


@dataclass(frozen=True, slots=True)
class ShownOverride:
    """An override in force, and whether this page can remove it (the file's it cannot)."""

    price: PriceOverride
    removable: bool


@router.get(PAGE, response_class=HTMLResponse)
def costs(request: Request, services: ServicesDep) -> HTMLResponse:
    """List the price of each model, overrides first, with a form to set an override."""
    params = request.query_params
    notice = _notice(params.get("saved"), params.get("removed"))
    # A catalogue row's "Override" link fills the form in with that model and its price.
    form = {key: params[key] for key in FORM_FIELDS if key in params}
    return _page(request, services, notice=notice, form=form)


@router.post(f"{PAGE}/overrides", response_class=HTMLResponse)
async def set_override(request: Request, services: ServicesDep) -> Response:
    """Create or replace an override, then go back to the list."""
    fields = (await read_form(request)).last_values()
    return await run_in_threadpool(_save, request, services, fields)


@router.post(f"{PAGE}/overrides/delete", response_class=HTMLResponse)
async def remove_override(request: Request, services: ServicesDep) -> Response:
    """Remove an override, then go back to the list."""
    fields = (await read_form(request)).last_values()
    return await run_in_threadpool(_remove, request, services, fields)


def _save(request: Request, services: Services, fields: Mapping[str, str]) -> Response:
    try:
        override = override_from_form(fields)
    except ValueError as error:
        return _page(request, services, error=str(error), form=fields, status_code=400)
    services.price_overrides.put(override)
    services.prices.replace_overrides(services.price_overrides.load())
    return _back(saved=_label(override.model, override.provider))


def _remove(request: Request, services: Services, fields: Mapping[str, str]) -> Response:
    model, provider = fields.get("model", ""), fields.get("provider") or None
    if not model or not services.price_overrides.delete(model, provider):
        message = f"there is no override for {_label(model, provider)} to remove"
        return _page(request, services, error=message, status_code=404)
    services.prices.replace_overrides(services.price_overrides.load())
    return _back(removed=_label(model, provider))


def override_from_form(fields: Mapping[str, str]) -> PriceOverride:
    """Return the override a form describes; raise ValueError saying which field is wrong."""
    prices: dict[str, float | None] = {}
    for name, label in PRICE_FIELDS:
        text = fields.get(name, "")
        try:
            prices[name] = float(text) if text else None
        except ValueError:
            raise ValueError(f"the {label.lower()} price {text!r} is not a number") from None
    for name, label in PRICE_FIELDS[:2]:
        if prices[name] is None:
            raise ValueError(
                f"the {label.lower()} price is required, in dollars per million tokens"
            )
    try:
        return PriceOverride.model_validate(
            {"model": fields.get("model", ""), "provider": fields.get("provider") or None, **prices}
        )
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValueError(f"{_field_label(where)}: {first['msg']}") from None


def _field_label(name: str) -> str:
    labels = {"model": "the model", "provider": "the provider"}
    labels.update({key: f"the {label.lower()} price" for key, label in PRICE_FIELDS})
    return labels.get(name, name or "the override")


def _page(
    request: Request,
    services: Services,
    *,
    notice: str | None = None,
    error: str | None = None,
    form: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    search = (request.query_params.get("q") or "").strip()
    matching = _matching(services.prices.known_models(), search)
    return render(
        request,
        "costs.html",
        status_code=status_code,
        overrides=_overrides(services, search),
        models=matching[:SHOWN_MODELS],
        matching=len(matching),
        search=search,
        notice=notice,
        error=error,
        form=form or {},
        price_fields=PRICE_FIELDS,
    )


def _overrides(services: Services, search: str) -> list[ShownOverride]:
    stored = {(each.model, each.provider) for each in services.price_overrides.stored()}
    return [
        ShownOverride(price, (price.model, price.provider) in stored)
        for price in services.price_overrides.load()
        if _matches(price.model, price.provider, search)
    ]


def _matching(models: list[ModelPrice], search: str) -> list[ModelPrice]:
    found = [price for price in models if _matches(price.model, price.provider, search)]
    return sorted(found, key=lambda price: (price.provider or "", price.model))


def _matches(model: str, provider: str | None, search: str) -> bool:
    needle = search.lower()
    return needle in model.lower() or needle in (provider or "").lower()


def _label(model: str, provider: str | None) -> str:
    return f"{model} ({provider})" if provider else f"{model} (any provider)"


def _notice(saved: str | None, removed: str | None) -> str | None:
    if saved:
        return f"Saved the price override for {saved}. New spans are priced with it."
    if removed:
        return f"Removed the price override for {removed}."
    return None


def _back(**notice: str) -> RedirectResponse:
    return RedirectResponse(f"{PAGE}?{urlencode(notice)}", status_code=303)
