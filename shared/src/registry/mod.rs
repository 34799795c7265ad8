//! A client for the OCI distribution API (and the Docker registry's `_catalog`).
//!
//! Why not a crate: the tools need four calls (`/v2/` probe, tag and catalog lists with
//! full pagination, manifest `HEAD`), the suite's own transport rules (one shared
//! [`http::Client`](crate::http::Client): timeouts, retries, the concurrency bound,
//! redaction) and honest errors in the registry's own words. What it does:
//!
//! - Pagination follows `Link: <…>; rel="next"` (relative, as zot and distribution send
//!   it, or absolute on the same origin); a registry that sends no `Link` but fills a
//!   requested page of `n` is asked again with `last=`.
//! - Auth is discovered once by the `/v2/` probe: anonymous, Basic (a zot API key is the
//!   password of its owner), or the Bearer token flow with tokens cached per scope, so
//!   concurrent requests do not each pay a 401 round trip.
//! - Errors: 401/403 → exit 3 with a credentials hint; 404 → exit 4 (`NAME_UNKNOWN`);
//!   anything else after retries → exit 3, with `CODE: message` from either error shape.

pub mod auth;
pub mod wire;

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, LINK, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode};
use url::Url;

use crate::error::{Error, Kind, Result};
use crate::http::{self, Client};

pub use auth::{Challenge, Credentials};

/// Every manifest type a pin may point at (apis.md §3.1); zot ignores it, distribution
/// needs it to answer for an OCI index rather than convert.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.docker.distribution.manifest.v2+json";

/// Safety stop for a registry whose `Link` headers never end.
const MAX_PAGES: usize = 10_000;

/// The registry flags shared by the tools that read images.
#[derive(Clone, Debug, clap::Args)]
pub struct RegistryArgs {
    /// The registry: host[:port] or URL. Plain http only for loopback (or --insecure).
    #[arg(long, env = "REGISTRY", value_name = "HOST")]
    pub registry: String,

    /// The path under which the suite's images live: image = <registry>/<prefix>/<name>.
    #[arg(long, env = "IMAGE_PREFIX", value_name = "PATH", default_value = "")]
    pub image_prefix: String,

    /// Registry username (with --password; a zot API key's owner).
    #[arg(long, env = "REGISTRY_USERNAME", value_name = "USER")]
    pub username: Option<String>,

    /// Registry password or zot API key. Prefer the environment variable to the flag.
    #[arg(
        long,
        env = "REGISTRY_PASSWORD",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub password: Option<String>,

    /// Ask for this many entries per list page (default: the registry's own page size).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub page_size: Option<u32>,
}

impl RegistryArgs {
    /// `<prefix>/<name>`, or `<name>` without a prefix.
    pub fn repository(&self, name: &str) -> String {
        match self.image_prefix.trim_matches('/') {
            "" => name.to_owned(),
            prefix => format!("{prefix}/{name}"),
        }
    }
}

#[derive(Clone, Debug)]
enum Scheme {
    Anonymous,
    Basic,
    Bearer { realm: Url, service: Option<String> },
}

#[derive(Debug)]
struct AuthState {
    scheme: Scheme,
    /// Bearer tokens by scope; only ever sent as a header, never formatted.
    tokens: HashMap<String, String>,
}

/// One registry, its credentials and what it asked for.
#[derive(Debug)]
pub struct Registry {
    http: Client,
    base: Url,
    host: String,
    /// Set from flags at once, else from the docker config on the first challenge.
    credentials: tokio::sync::OnceCell<Option<Credentials>>,
    page_size: Option<u32>,
    state: Mutex<AuthState>,
}

/// Parses `--registry`: `host[:port]` gets https, or http when the host is loopback.
pub fn parse_registry_url(text: &str) -> Result<Url> {
    let bad = |why: String| {
        Error::usage(format!("bad --registry '{}': {why}", http::redact_str(text)))
            .hint("give host[:port] (registry.example, 127.0.0.1:5000) or a URL (https://registry.example)")
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(bad("it is empty".into()));
    }
    let mut url = if trimmed.contains("://") {
        Url::parse(trimmed).map_err(|e| bad(e.to_string()))?
    } else {
        let mut url = Url::parse(&format!("https://{trimmed}")).map_err(|e| bad(e.to_string()))?;
        if http::is_loopback(&url) {
            url.set_scheme("http")
                .map_err(|()| bad("cannot use http".into()))?;
        }
        url
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(format!("scheme '{}' is not http(s)", url.scheme())));
    }
    if url.host_str().is_none() {
        return Err(bad("it has no host".into()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("credentials do not belong in the URL".into())
            .hint("use --username/--password or REGISTRY_USERNAME/REGISTRY_PASSWORD"));
    }
    if !matches!(url.path(), "" | "/" | "/v2" | "/v2/") || url.query().is_some() {
        return Err(bad(
            "the registry API lives at the root; put the image path in --image-prefix".into(),
        ));
    }
    url.set_path("/");
    Ok(url)
}

impl Registry {
    /// A client for `args.registry`, with credentials from flags, env or (when the
    /// registry asks) the docker config.
    pub fn new(http: Client, args: &RegistryArgs) -> Result<Self> {
        let base = parse_registry_url(&args.registry)?;
        http.check_url(&base)?;
        let host = match base.port() {
            Some(port) => format!("{}:{port}", base.host_str().unwrap_or_default()),
            None => base.host_str().unwrap_or_default().to_owned(),
        };
        let credentials = tokio::sync::OnceCell::new();
        if let Some(given) = auth::from_flags(args.username.as_deref(), args.password.as_deref())? {
            let _ = credentials.set(Some(given));
        }
        Ok(Registry {
            http,
            base,
            host,
            credentials,
            page_size: args.page_size,
            state: Mutex::new(AuthState {
                scheme: Scheme::Anonymous,
                tokens: HashMap::new(),
            }),
        })
    }

    /// `host[:port]`, as image references spell it.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Where the credentials in use came from; `None` when none were needed or found.
    pub fn credentials_source(&self) -> Option<&str> {
        self.known_credentials().map(|c| c.source.as_str())
    }

    fn known_credentials(&self) -> Option<&Credentials> {
        self.credentials.get().and_then(Option::as_ref)
    }

    /// The credentials, reading the docker config the first time they are needed.
    async fn credentials(&self) -> Result<Option<&Credentials>> {
        self.credentials
            .get_or_try_init(|| async { auth::from_default_docker_config(&self.host) })
            .await
            .map(Option::as_ref)
    }

    /// `GET /v2/`: is this a registry, and which auth does it want? Run it once before
    /// concurrent calls so they start with the right credentials.
    pub async fn probe(&self) -> Result<()> {
        let url = self.url("v2/", &[])?;
        let response = self.send(Method::GET, url, "", None).await?;
        if response.status().is_success() {
            return Ok(());
        }
        Err(self.status_error(response, "the /v2/ API check").await)
    }

    /// Every tag of `repository`, across all pages, in the registry's order.
    pub async fn tags(&self, repository: &str) -> Result<Vec<String>> {
        let url = self.url(&format!("v2/{repository}/tags/list"), &[])?;
        let scope = format!("repository:{repository}:pull");
        self.paginate(url, &scope, &format!("tags of {repository}"), |body| {
            serde_json::from_slice::<wire::TagList>(body).map(|l| l.tags.unwrap_or_default())
        })
        .await
    }

    /// Every repository the caller may see (`GET /v2/_catalog`), across all pages.
    pub async fn catalog(&self) -> Result<Vec<String>> {
        let url = self.url("v2/_catalog", &[])?;
        self.paginate(url, "registry:catalog:*", "the catalog", |body| {
            serde_json::from_slice::<wire::Catalog>(body)
                .map(|c| c.repositories.unwrap_or_default())
        })
        .await
    }

    /// `HEAD /v2/<repository>/manifests/<reference>`: the digest when it exists, `None`
    /// when the registry says 404.
    pub async fn manifest_digest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Option<String>> {
        let url = self.url(&format!("v2/{repository}/manifests/{reference}"), &[])?;
        let scope = format!("repository:{repository}:pull");
        let response = self
            .send(Method::HEAD, url, &scope, Some(MANIFEST_ACCEPT))
            .await?;
        match response.status() {
            status if status.is_success() => Ok(Some(
                response
                    .headers()
                    .get("docker-content-digest")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned(),
            )),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(self
                .status_error(response, &format!("manifest {repository}:{reference}"))
                .await),
        }
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<Url> {
        let mut url = self
            .base
            .join(path)
            .map_err(|e| Error::usage(format!("bad repository path '{path}': {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    async fn paginate(
        &self,
        first: Url,
        scope: &str,
        what: &str,
        parse: impl Fn(&[u8]) -> serde_json::Result<Vec<String>>,
    ) -> Result<Vec<String>> {
        let mut url = first.clone();
        if let Some(n) = self.page_size {
            url.query_pairs_mut().append_pair("n", &n.to_string());
        }
        let mut all = Vec::new();
        let mut seen = HashSet::new();
        for _ in 0..MAX_PAGES {
            let response = self.send(Method::GET, url.clone(), scope, None).await?;
            if !response.status().is_success() {
                return Err(self.status_error(response, what).await);
            }
            let link = header_str(response.headers(), LINK).map(str::to_owned);
            let body = read_body(response, &url).await?;
            let page = parse(&body).map_err(|e| {
                Error::remote(format!(
                    "{}: the registry sent malformed JSON for {what} ({e})",
                    self.host
                ))
                .hint("retry; if it persists, the registry or a proxy in front of it is broken")
            })?;
            let page_len = page.len();
            let last = page.last().cloned();
            let before = all.len();
            // A registry that ignores `last` repeats itself; repeated entries end the list.
            all.extend(page.into_iter().filter(|entry| seen.insert(entry.clone())));
            if page_len > 0 && all.len() == before {
                return Ok(all);
            }
            let next = match link.and_then(|l| wire::next_link(&l, &url)) {
                Some(next) => Some(next),
                // No Link, but exactly the page asked for: there may be more. (A page
                // longer than `n` means the registry ignores `n`: distribution 2.8's
                // tags/list does, and sends everything.)
                None => match (self.page_size, last) {
                    (Some(n), Some(last)) if page_len == n as usize => {
                        let mut next = first.clone();
                        next.query_pairs_mut()
                            .append_pair("n", &n.to_string())
                            .append_pair("last", &last);
                        Some(next)
                    }
                    _ => None,
                },
            };
            match next {
                None => return Ok(all),
                Some(next) if next.origin() != self.base.origin() => {
                    return Err(Error::remote(format!(
                        "{}: the registry's next-page link for {what} points to another host ({})",
                        self.host,
                        next.host_str().unwrap_or("?")
                    ))
                    .hint("credentials are not sent to other hosts; check the registry's configuration"));
                }
                Some(next) if next == url => return Ok(all),
                Some(next) => url = next,
            }
        }
        Err(Error::remote(format!(
            "{}: {what} did not end after {MAX_PAGES} pages",
            self.host
        )))
    }

    /// Sends with the current auth; on a 401 challenge, answers it once and resends.
    async fn send(
        &self,
        method: Method,
        url: Url,
        scope: &str,
        accept: Option<&str>,
    ) -> Result<Response> {
        let mut answered = false;
        loop {
            let mut builder = self.http.request(method.clone(), url.clone());
            if let Some(accept) = accept {
                builder = builder.header(ACCEPT, accept);
            }
            if let Some(value) = self.authorization(scope).await? {
                builder = builder.header(AUTHORIZATION, value);
            }
            let response = self.http.send(builder).await?;
            if response.status() != StatusCode::UNAUTHORIZED || answered {
                return Ok(response);
            }
            answered = true;
            let challenge = response
                .headers()
                .get_all(WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(Challenge::parse);
            let Some(challenge) = challenge else {
                return Ok(response);
            };
            if !self.accept_challenge(challenge, scope).await? {
                return Ok(response);
            }
        }
    }

    /// Takes up what a 401 asked for; `false` when there is nothing new to try.
    async fn accept_challenge(&self, challenge: Challenge, scope: &str) -> Result<bool> {
        match challenge {
            Challenge::Basic => {
                if self.credentials().await?.is_none() {
                    return Ok(false);
                }
                let mut state = self.lock();
                if matches!(state.scheme, Scheme::Basic) {
                    return Ok(false);
                }
                state.scheme = Scheme::Basic;
                Ok(true)
            }
            Challenge::Bearer {
                realm,
                service,
                scope: asked,
            } => {
                let realm = self.http.parse_url(&realm).map_err(|e| {
                    e.context(format!("{}: the token realm in the challenge", self.host))
                })?;
                self.lock().scheme = Scheme::Bearer {
                    realm: realm.clone(),
                    service: service.clone(),
                };
                let token_scope = asked.unwrap_or_else(|| scope.to_owned());
                let token = self
                    .fetch_token(&realm, service.as_deref(), &token_scope)
                    .await?;
                self.lock().tokens.insert(scope.to_owned(), token);
                Ok(true)
            }
        }
    }

    /// The `Authorization` value for a request in `scope`, fetching a Bearer token first
    /// when the registry is known to want one.
    async fn authorization(&self, scope: &str) -> Result<Option<String>> {
        let scheme = self.lock().scheme.clone();
        match scheme {
            Scheme::Anonymous => Ok(None),
            Scheme::Basic => Ok(self.known_credentials().map(basic_value)),
            Scheme::Bearer { realm, service } => {
                let cached = self.lock().tokens.get(scope).cloned();
                let token = match cached {
                    Some(token) => token,
                    None => {
                        let token = self.fetch_token(&realm, service.as_deref(), scope).await?;
                        self.lock().tokens.insert(scope.to_owned(), token.clone());
                        token
                    }
                };
                Ok(Some(format!("Bearer {token}")))
            }
        }
    }

    /// `GET realm?service=…&scope=…`, with Basic credentials when we have them.
    async fn fetch_token(&self, realm: &Url, service: Option<&str>, scope: &str) -> Result<String> {
        let mut url = realm.clone();
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = service {
                query.append_pair("service", service);
            }
            if !scope.is_empty() {
                query.append_pair("scope", scope);
            }
        }
        let mut builder = self.http.request(Method::GET, url.clone());
        if let Some(creds) = self.credentials().await? {
            builder = builder.header(AUTHORIZATION, basic_value(creds));
        }
        let response = self.http.send(builder).await?;
        let what = format!("token for {}", display_scope(scope));
        if !response.status().is_success() {
            return Err(self.status_error(response, &what).await);
        }
        let body = read_body(response, &url).await?;
        serde_json::from_slice::<wire::TokenReply>(&body)
            .ok()
            .and_then(wire::TokenReply::into_token)
            .ok_or_else(|| {
                Error::remote(format!(
                    "{}: {what}: the token server sent no token",
                    self.host
                ))
                .hint("check the registry's token service")
            })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, AuthState> {
        // A panic while holding this lock cannot leave the map half-written, so a
        // poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The one-line error for a non-success status, in the registry's words.
    async fn status_error(&self, response: Response, what: &str) -> Error {
        let status = response.status();
        let url = response.url().clone();
        let body = response.bytes().await.unwrap_or_default();
        let said = wire::describe_error_body(&body);
        let codes = wire::error_codes(&body);
        let detail = said.map(|s| format!(" ({s})")).unwrap_or_default();
        let host = &self.host;
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                let hint = match self.credentials_source() {
                    Some(source) => format!(
                        "the credentials from {source} were refused; check the username and password or API key"
                    ),
                    None => "pass --username/--password (or REGISTRY_USERNAME/REGISTRY_PASSWORD), or `docker login` the registry".to_owned(),
                };
                http::status_error(status, &format!("{host}: {what}"), "").hint(hint)
            }
            StatusCode::NOT_FOUND if url.path() == "/v2/" => Error::remote(format!(
                "{host}: not an OCI registry (GET /v2/ answered 404)"
            ))
            .hint("check --registry: it should name the registry host, not a web page"),
            StatusCode::NOT_FOUND => {
                let message = if codes.iter().any(|c| c == "NAME_UNKNOWN") {
                    format!("{host}: {what}: no such repository{detail}")
                } else {
                    format!("{host}: {what}: not found (404){detail}")
                };
                Error::new(Kind::NotFound, message)
            }
            _ => {
                let hint = if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                    "the registry kept failing after retries; try again later or raise --retries"
                } else {
                    "the registry refused the request; check --registry and --image-prefix"
                };
                Error::remote(format!("{host}: {what}: HTTP {}{detail}", status.as_u16()))
                    .hint(hint)
            }
        }
    }
}

fn basic_value(creds: &Credentials) -> String {
    use base64::Engine;
    let raw = format!("{}:{}", creds.username, creds.password());
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

fn display_scope(scope: &str) -> &str {
    if scope.is_empty() {
        "the registry"
    } else {
        scope
    }
}

fn header_str(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn read_body(response: Response, url: &Url) -> Result<bytes::Bytes> {
    response
        .bytes()
        .await
        .map_err(|e| http::transport_error(url, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_without_scheme_is_https_except_loopback() {
        assert_eq!(
            parse_registry_url("registry.example").unwrap().as_str(),
            "https://registry.example/"
        );
        assert_eq!(
            parse_registry_url("127.0.0.1:5000").unwrap().as_str(),
            "http://127.0.0.1:5000/"
        );
        assert_eq!(
            parse_registry_url("localhost:5000").unwrap().as_str(),
            "http://localhost:5000/"
        );
        assert_eq!(
            parse_registry_url("http://registry.example:5000/v2/")
                .unwrap()
                .as_str(),
            "http://registry.example:5000/"
        );
    }

    #[test]
    fn bad_registry_values_are_usage_errors_without_secrets() {
        for bad in [
            "",
            "ftp://r.example",
            "https://r.example/opskit",
            "https://u:hunter2@r.example",
        ] {
            let err = parse_registry_url(bad).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
            assert!(!err.message().contains("hunter2"), "{}", err.message());
        }
    }

    #[test]
    fn repository_joins_prefix_and_name() {
        let mut args = RegistryArgs {
            registry: "r".into(),
            image_prefix: "/opskit/".into(),
            username: None,
            password: None,
            page_size: None,
        };
        assert_eq!(args.repository("app"), "opskit/app");
        args.image_prefix.clear();
        assert_eq!(args.repository("app"), "app");
    }
}
