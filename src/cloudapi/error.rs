//! The cloud's error replies: an HTTP status and `{Code, Message,
//! RequestId}`, from which the SDKs raise their exception (4xx: a
//! ClientException, 5xx: a ServerException) carrying `Code`.

use serde_json::json;

/// One refused call: the HTTP status, the cloud's code and a message that
/// names what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    pub(crate) code: String,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(
        status: u16,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    /// 400 with `code`.
    pub(crate) fn bad(code: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::new(400, code, message)
    }

    /// A required parameter is absent: the gateway's `Missing{Parameter}`.
    pub(crate) fn missing(param: &str) -> ApiError {
        ApiError::bad(
            format!("Missing{}", param.replace('.', "")),
            format!("{param} is mandatory for this action."),
        )
    }

    /// A parameter's value is refused: `IllegalParam.{Parameter}` (the
    /// index of a repeated parameter left out of the code, kept in the
    /// message).
    pub(crate) fn illegal(param: &str, message: impl std::fmt::Display) -> ApiError {
        let code_param: Vec<&str> = param
            .split('.')
            .filter(|p| !p.bytes().all(|b| b.is_ascii_digit()))
            .collect();
        ApiError::bad(
            format!("IllegalParam.{}", code_param.join(".")),
            format!("{param}: {message}"),
        )
    }

    pub(crate) fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(500, "InternalError", message)
    }

    /// The reply body.
    pub(crate) fn body(&self, request_id: &str) -> serde_json::Value {
        json!({
            "Code": self.code,
            "Message": self.message,
            "RequestId": request_id,
        })
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_name_the_parameter_without_its_index() {
        let e = ApiError::illegal("Zone.2.ip", "127.0.2.255 is reserved");
        assert_eq!(e.code, "IllegalParam.Zone.ip");
        assert_eq!(e.message, "Zone.2.ip: 127.0.2.255 is reserved");
        assert_eq!(ApiError::missing("EndpointId").code, "MissingEndpointId");
    }
}
