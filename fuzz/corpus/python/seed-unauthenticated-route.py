from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI

from . import admin, items
from .deps import CurrentUser, User, get_current_user, get_db

app = FastAPI()
app.include_router(items.router, dependencies=[Depends(get_current_user)])
app.include_router(admin.router)

orders = APIRouter(prefix="/orders")


@orders.get("")  # expect: unauthenticated-route
async def list_orders(db=Depends(get_db)):
    return []


@orders.get("/{order_id}")  # ok: unauthenticated-route
async def get_order(order_id: int, user: User = Depends(get_current_user)):
    return {}


@orders.post("")  # ok: unauthenticated-route
async def create_order(user: Annotated[User, Depends(get_current_user)]):
    return {}


@orders.put("/{order_id}")  # ok: unauthenticated-route
async def replace_order(order_id: int, user: CurrentUser):
    return {}


@orders.api_route("/{order_id}/notes", methods=["GET", "POST"])  # expect: unauthenticated-route
async def order_notes(order_id: int):
    return []


app.include_router(orders)


@app.get("/healthz")  # ok: unauthenticated-route
async def healthz():
    return {"status": "ok"}


@app.get("/readyz")  # ok: unauthenticated-route
async def readyz():
    return {"status": "ok"}


@app.get("/health/db")  # ok: unauthenticated-route
async def health_db():
    return {"status": "ok"}


@app.post("/token")  # ok: unauthenticated-route
async def login():
    return {}


@app.get("/status")  # ok: unauthenticated-route (public-routes in svc.toml)
async def status():
    return {}


@app.post("/webhooks/stripe")  # ok: unauthenticated-route (public-routes prefix)
async def stripe_webhook():
    return {}


@app.get("/reports/export")  # expect: unauthenticated-route
async def export_reports():
    return []


async def delete_everything():
    return {}


app.add_api_route("/danger", delete_everything, methods=["DELETE"])  # expect: unauthenticated-route

# A router never included in an app: its real path and dependencies are unknown.
stray = APIRouter()


@stray.get("/stray")  # ok: unauthenticated-route
async def stray_route():
    return {}
