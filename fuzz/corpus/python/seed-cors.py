from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware import Middleware

from .settings import settings

ORIGINS = ["https://app.example.com", "*"]
TRUSTED = ["https://app.example.com", "https://admin.example.com"]

app = FastAPI(
    middleware=[
        Middleware(
            CORSMiddleware,
            allow_origins=["*"],  # expect: cors-wildcard-with-credentials
            allow_credentials=True,
        ),
    ],
)

app.add_middleware(
    CORSMiddleware,
    allow_origins=ORIGINS,  # expect: cors-wildcard-with-credentials
    allow_credentials=True,
    allow_methods=["*"],
)
app.add_middleware(CORSMiddleware, allow_origin_regex=".*", allow_credentials=True)  # expect: cors-wildcard-with-credentials
app.add_middleware(CORSMiddleware, allow_origin_regex="^https?://.+$", allow_credentials=True)  # expect: cors-wildcard-with-credentials

# Explicit origins with credentials: the right way.
app.add_middleware(CORSMiddleware, allow_origins=TRUSTED, allow_credentials=True)  # ok: cors-wildcard-with-credentials
app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=True)  # ok: cors-wildcard-with-credentials
# A subdomain pattern is not a wildcard.
app.add_middleware(CORSMiddleware, allow_origin_regex=r"https://.*\.example\.com", allow_credentials=True)  # ok: cors-wildcard-with-credentials
# Wildcard without credentials is cors-wildcard-origin's business.
app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=False)  # ok: cors-wildcard-with-credentials
app.add_middleware(CORSMiddleware, allow_origins=["*"])  # ok: cors-wildcard-with-credentials
