mod cors;
pub mod cors_wildcard_origin;
pub mod cors_wildcard_with_credentials;
pub mod missing_security_headers;
pub mod openapi_docs_exposed;
