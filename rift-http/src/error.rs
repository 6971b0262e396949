//! The one place where failures become HTTP answers: `{"error": {"code", "message"}}` with the
//! status of the error's kind. Internal errors are logged with the request id and answered with a
//! generic body.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rift::{Error, ErrorCode, ErrorKind};
use serde_json::json;

/// A failed request.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    message: String,
    retry_after_secs: Option<u64>,
    /// The cause of a 500, logged and never sent.
    internal: Option<String>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after_secs: None, internal: None }
    }

    /// 404 for an unknown route.
    pub fn unknown_route() -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::UnknownRoute, "no such route")
    }

    /// 405 for a known route with another method.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::MethodNotAllowed,
            "method not allowed on this route",
        )
    }

    /// 401 when the bearer token is missing or bad.
    pub fn unauthenticated(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated, message)
    }

    /// 429 with `Retry-After`.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut error = Self::new(StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited, "too many requests");
        error.retry_after_secs = Some(retry_after_secs.max(1));
        error
    }

    /// 500 with the cause kept for the log only.
    pub fn internal(cause: impl Into<String>) -> Self {
        let mut error =
            Self::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::InternalError, "internal error");
        error.internal = Some(cause.into());
        error
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }
}

/// The status of each error kind.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    // `http_status` is an exhaustive match in `rift`, so every kind has its own status here.
    StatusCode::from_u16(kind.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        if let Error::RateLimited { retry_after_secs } = error {
            return Self::rate_limited(retry_after_secs);
        }
        let status = status_of(error.kind());
        let mut api = Self::new(status, error.code(), error.public_message());
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            api.internal = Some(format!("{error:?}"));
        }
        api
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Self::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidContentType,
                "expected Content-Type: application/json",
            ),
            JsonRejection::JsonSyntaxError(e) => {
                Self::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidJson, e.body_text())
            }
            JsonRejection::JsonDataError(e) => {
                Self::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidBody, e.body_text())
            }
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                "request body is too large",
            ),
            other => Self::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidBody, other.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidPath, rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidQuery, rejection.body_text())
    }
}

/// The cause of an internal error, for the logging middleware.
#[derive(Debug, Clone)]
pub(crate) struct InternalCause(pub(crate) String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({ "error": { "code": self.code.as_str(), "message": self.message } }));
        let mut response = (self.status, body).into_response();
        if let Some(secs) = self.retry_after_secs
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if let Some(cause) = self.internal {
            response.extensions_mut().insert(InternalCause(cause));
        }
        response
    }
}

/// The result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
