//! The HTTP client the adapters share: one ureq agent and one deadline for a whole fetch.

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use ureq::Agent;

use super::SourceError;

/// Characters of a response body quoted in an error message.
const BODY_EXCERPT_CHARS: usize = 200;

/// A status code and the body read as text.
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) body: String,
}

impl Reply {
    /// Whether the status is 2xx.
    pub(super) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The error for a non-2xx reply, quoting the start of the body on one line.
    pub(super) fn status_error(&self, url: &str) -> SourceError {
        SourceError::HttpStatus {
            url: redact_url(url),
            status: self.status,
            body: one_line(&self.body, BODY_EXCERPT_CHARS),
        }
    }
}

/// Blocking HTTP with a deadline shared by every request of one fetch.
pub(super) struct Http {
    agent: Agent,
    deadline: Option<Instant>,
    timeout: Duration,
}

impl Http {
    /// A client whose requests must all be done within `timeout` from now.
    pub(super) fn new(timeout: Duration) -> Self {
        let agent: Agent = Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .user_agent(concat!("bitwatt/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Self {
            agent,
            // A timeout too large to add to now is no deadline at all; each request is still
            // bounded by the agent's global timeout.
            deadline: Instant::now().checked_add(timeout),
            timeout,
        }
    }

    /// Time left before the deadline, or the timeout error if it has passed.
    fn remaining(&self, url: &str) -> Result<Duration, SourceError> {
        let left = match self.deadline {
            Some(deadline) => deadline.saturating_duration_since(Instant::now()),
            None => self.timeout,
        };
        if left.is_zero() {
            return Err(self.timeout_error(url));
        }
        Ok(left)
    }

    fn timeout_error(&self, url: &str) -> SourceError {
        SourceError::Timeout {
            url: redact_url(url),
            timeout: self.timeout,
        }
    }

    /// `GET url`.
    pub(super) fn get(&self, url: &str) -> Result<Reply, SourceError> {
        let left = self.remaining(url)?;
        let response = self
            .agent
            .get(url)
            .config()
            .timeout_global(Some(left))
            .build()
            .call();
        self.read(url, response)
    }

    /// `POST url` with a JSON body and, where given, an `Authorization` header.
    pub(super) fn post_json(
        &self,
        url: &str,
        authorization: Option<&str>,
        body: &str,
    ) -> Result<Reply, SourceError> {
        let left = self.remaining(url)?;
        let mut request = self
            .agent
            .post(url)
            .header("content-type", "application/json");
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request
            .config()
            .timeout_global(Some(left))
            .build()
            .send(body);
        self.read(url, response)
    }

    fn read(
        &self,
        url: &str,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Reply, SourceError> {
        let response = response.map_err(|e| self.error(url, e))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .read_to_string()
            .map_err(|e| self.error(url, e))?;
        Ok(Reply { status, body })
    }

    /// Maps ureq's error to ours: timeouts, unreachable servers, everything else.
    fn error(&self, url: &str, error: ureq::Error) -> SourceError {
        let unreachable = |reason: String| SourceError::Unreachable {
            url: redact_url(url),
            reason,
        };
        match error {
            ureq::Error::Timeout(_) => self.timeout_error(url),
            ureq::Error::Io(e) if e.kind() == ErrorKind::TimedOut => self.timeout_error(url),
            ureq::Error::Io(e) => unreachable(match e.kind() {
                ErrorKind::ConnectionRefused => "connection refused".to_string(),
                ErrorKind::ConnectionReset => "connection reset".to_string(),
                _ => one_line(&e.to_string(), BODY_EXCERPT_CHARS),
            }),
            ureq::Error::HostNotFound => unreachable("host not found".to_string()),
            ureq::Error::ConnectionFailed => unreachable("connection failed".to_string()),
            other => SourceError::Http {
                url: redact_url(url),
                reason: one_line(&other.to_string(), BODY_EXCERPT_CHARS),
            },
        }
    }
}

/// The URL without credentials (`http://user:pw@host/` → `http://***@host/`), for messages.
pub(super) fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..scheme_end], &rest[at..]),
        None => url.to_string(),
    }
}

/// `text` with whitespace runs collapsed to single spaces, cut to `max_chars` characters.
pub(super) fn one_line(text: &str, max_chars: usize) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let joined = words.join(" ");
    match joined.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &joined[..cut]),
        None => joined,
    }
}

/// The `Authorization` header value of HTTP basic authentication (RFC 7617).
pub(super) fn basic_authorization(user: &str, password: &str) -> String {
    format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
}

/// Standard base64 with padding (RFC 4648 §4).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 0x3f) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain}");
        }
        // RFC 7617 §2's example.
        assert_eq!(
            basic_authorization("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
    }

    #[test]
    fn redact_url_hides_credentials_only() {
        assert_eq!(
            redact_url("http://alice:s3cret@127.0.0.1:8332/wallet/x"),
            "http://***@127.0.0.1:8332/wallet/x"
        );
        assert_eq!(
            redact_url("https://mempool.space/api/block/x@y"),
            "https://mempool.space/api/block/x@y"
        );
        assert_eq!(redact_url("127.0.0.1:8332"), "127.0.0.1:8332");
    }

    #[test]
    fn one_line_collapses_and_cuts() {
        assert_eq!(one_line("  a\r\n b\tc ", 10), "a b c");
        assert_eq!(one_line("αβγδε", 3), "αβγ…");
    }
}
