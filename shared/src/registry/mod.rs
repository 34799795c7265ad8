//! A client for the OCI distribution API (and the Docker registry's `_catalog`).
//!
//! Why not a crate: the tools need four calls (`/v2/` probe, tag and catalog lists with
//! full pagination, manifest `HEAD`), the suite's own transport rules (one shared
//! [`http::Client`](crate::http::Client): deadlines, retries, the concurrency bound,
//! redaction, one status mapping) and honest errors in the registry's own words. What
//! it does:
//!
//! - Pagination follows `Link: <…>; rel="next"` (relative, as zot and distribution send
//!   it, or absolute on the same origin); a registry that sends no `Link` but fills a
//!   requested page of `n` is asked again with `last=`. A registry whose pages loop (a
//!   `Link` back to a page already read, or a page of nothing new) is an error, never a
//!   silently shorter list.
//! - The `/v2/` probe (is this a registry, which auth does it want?) is sent once per
//!   client, alongside the first real requests rather than before them, so a listing
//!   costs one round trip, not two. When the probe fails, its error is the answer to
//!   every call: it says most clearly what is wrong.
//! - Auth: anonymous until a `401` challenges; the first challenge seen is kept (Basic,
//!   with a zot API key as the password of its owner, or the Bearer token flow), and
//!   each request challenged before it carried that auth is sent once more with it.
//!   Bearer tokens are fetched once per scope however many requests race for one, kept
//!   under the scope the challenge named, and fetched again when their `expires_in`
//!   is nearly up or the registry refuses them (a listing can outlive a token).
//! - Errors go through [`http::status_error`], refined where the registry knows more
//!   (`/v2/` answering 404 is not a registry), with hints naming the credentials used.

pub mod auth;
pub mod wire;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, LINK, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode};
use tokio::sync::OnceCell;
use url::Url;

use crate::error::{Error, Result};
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

/// How to reach one registry; the commands fill it from their flags.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// `host[:port]` or a URL; see [`parse_registry_url`].
    pub registry: String,
    /// Basic credentials (a zot API key is the password); both or neither. Without
    /// them, the docker config is read when the registry asks.
    pub username: Option<String>,
    pub password: Option<String>,
    /// Entries to ask for per list page; `None` leaves the page size to the registry.
    pub page_size: Option<u32>,
}

/// What a manifest `HEAD` said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Manifest {
    /// The registry answered 404: no such manifest.
    Missing,
    /// The manifest exists. `digest` is the registry's `Docker-Content-Digest`; `None`
    /// when it (or a proxy in front of it) sent none, never an empty string.
    Present { digest: Option<String> },
}

/// The auth the registry asked for, from the first challenge seen.
#[derive(Clone, Debug)]
enum Scheme {
    Anonymous,
    Basic,
    Bearer { realm: Url, service: Option<String> },
}

/// One Bearer token per scope, fetched by the first request that needs it while the
/// others wait for the same answer (a failed fetch is kept too: one refusal per scope).
type TokenCell = Arc<OnceCell<Result<Token>>>;

/// A Bearer token and when to fetch a new one.
#[derive(Clone, Debug)]
struct Token {
    value: String,
    renew_at: Instant,
}

/// One registry, its credentials and what it asked for.
#[derive(Debug)]
pub struct Registry {
    http: Client,
    base: Url,
    host: String,
    /// Set from the settings at once, else from the docker config on the first
    /// challenge; a failed lookup (a broken helper) is kept, so it runs once.
    credentials: OnceCell<Result<Option<Credentials>>>,
    page_size: Option<u32>,
    scheme: Mutex<Scheme>,
    tokens: Mutex<HashMap<String, TokenCell>>,
    /// The scope a challenge named for a request whose own scope differed (zot asks
    /// `repository::pull` for the catalog): later requests ask for that one at once.
    asked_scopes: Mutex<HashMap<String, String>>,
    /// The `/v2/` probe's outcome, shared by every call.
    probed: OnceCell<Result<()>>,
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
    /// A client for `settings.registry`, with the given credentials or (when the
    /// registry asks) those of the docker config.
    pub fn new(http: Client, settings: &Settings) -> Result<Self> {
        let base = parse_registry_url(&settings.registry)?;
        http.check_url(&base)?;
        let host = match base.port() {
            Some(port) => format!("{}:{port}", base.host_str().unwrap_or_default()),
            None => base.host_str().unwrap_or_default().to_owned(),
        };
        let credentials = OnceCell::new();
        if let Some(given) =
            auth::from_flags(settings.username.as_deref(), settings.password.as_deref())?
        {
            let _ = credentials.set(Ok(Some(given)));
        }
        Ok(Registry {
            http,
            base,
            host,
            credentials,
            page_size: settings.page_size,
            scheme: Mutex::new(Scheme::Anonymous),
            tokens: Mutex::new(HashMap::new()),
            asked_scopes: Mutex::new(HashMap::new()),
            probed: OnceCell::new(),
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
        match self.credentials.get() {
            Some(Ok(Some(credentials))) => Some(credentials),
            _ => None,
        }
    }

    /// The credentials, reading the docker config the first time they are needed.
    async fn credentials(&self) -> Result<Option<&Credentials>> {
        self.credentials
            .get_or_init(|| async { auth::from_default_docker_config(&self.host) })
            .await
            .as_ref()
            .map(Option::as_ref)
            .map_err(Clone::clone)
    }

    /// `GET /v2/`: is this a registry, and which auth does it want? Sent once; every
    /// later call shares its answer. The listing calls run it themselves, alongside
    /// their own requests.
    pub async fn probe(&self) -> Result<()> {
        self.probed
            .get_or_init(|| async {
                let url = self.url("v2/", &[])?;
                let response = self.send(Method::GET, url, "", None).await?;
                if response.status().is_success() {
                    return Ok(());
                }
                Err(self.status_error(response, "the /v2/ API check").await)
            })
            .await
            .clone()
    }

    /// Runs `call` alongside the probe, not after it: a round trip saved on every
    /// listing. A failed probe is the answer whatever `call` got, since it names the
    /// cause (not a registry, refused credentials) rather than its symptom, and it ends
    /// `call` at once rather than waiting for its retries.
    async fn checked<T>(&self, call: impl Future<Output = Result<T>>) -> Result<T> {
        use futures::future::{Either, select};
        let probe = std::pin::pin!(self.probe());
        let call = std::pin::pin!(call);
        match select(probe, call).await {
            Either::Left((probed, call)) => {
                probed?;
                call.await
            }
            Either::Right((result, probe)) => {
                probe.await?;
                result
            }
        }
    }

    /// Every tag of `repository`, across all pages, in the registry's order.
    pub async fn tags(&self, repository: &str) -> Result<Vec<String>> {
        self.checked(async {
            let url = self.url(&format!("v2/{repository}/tags/list"), &[])?;
            let scope = format!("repository:{repository}:pull");
            self.paginate(url, &scope, &format!("tags of {repository}"), |body| {
                serde_json::from_slice::<wire::TagList>(body).map(|l| l.tags.unwrap_or_default())
            })
            .await
        })
        .await
    }

    /// Every repository the caller may see (`GET /v2/_catalog`), across all pages.
    pub async fn catalog(&self) -> Result<Vec<String>> {
        self.checked(async {
            let url = self.url("v2/_catalog", &[])?;
            self.paginate(url, "registry:catalog:*", "the catalog", |body| {
                serde_json::from_slice::<wire::Catalog>(body)
                    .map(|c| c.repositories.unwrap_or_default())
            })
            .await
        })
        .await
    }

    /// `HEAD /v2/<repository>/manifests/<reference>`: does it exist, and its digest.
    pub async fn manifest(&self, repository: &str, reference: &str) -> Result<Manifest> {
        self.checked(async {
            let url = self.url(&format!("v2/{repository}/manifests/{reference}"), &[])?;
            let scope = format!("repository:{repository}:pull");
            let response = self
                .send(Method::HEAD, url, &scope, Some(MANIFEST_ACCEPT))
                .await?;
            let what = format!("manifest {repository}:{reference}");
            match response.status() {
                status if status.is_success() => {
                    let header = response.headers().get(wire::DIGEST_HEADER);
                    let digest = wire::content_digest(header).map_err(|shown| {
                        Error::remote(format!(
                            "{}: {what}: the registry sent a malformed {} header ('{shown}')",
                            self.host,
                            wire::DIGEST_HEADER
                        ))
                        .hint("the registry or a proxy in front of it is broken")
                    })?;
                    Ok(Manifest::Present { digest })
                }
                StatusCode::NOT_FOUND => Ok(Manifest::Missing),
                _ => Err(self.status_error(response, &what).await),
            }
        })
        .await
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
        let mut visited = HashSet::new();
        // Whether `url` came from the registry's own `Link` (else from our `last=` guess).
        let mut linked = false;
        let looped = |why: String| {
            Error::remote(format!(
                "{}: the registry's pages of {what} loop: {why}; the list would be incomplete",
                self.host
            ))
            .hint("the registry's pagination is broken; try a larger --page-size, or report it to the registry's operator")
        };
        for _ in 0..MAX_PAGES {
            visited.insert(url.clone());
            let response = self.send(Method::GET, url.clone(), scope, None).await?;
            if !response.status().is_success() {
                return Err(self.status_error(response, what).await);
            }
            let link = header_str(response.headers(), LINK).map(str::to_owned);
            let body = http::read_body(response, &format!("{}: {what}", self.host)).await?;
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
            // Entries seen on an earlier page are dropped (a registry whose `last` is
            // inclusive repeats one).
            all.extend(page.into_iter().filter(|entry| seen.insert(entry.clone())));
            let repeated = page_len > 0 && all.len() == before;
            if repeated && linked {
                // The registry's own link led to a page of nothing new: it started over.
                return Err(looped(format!(
                    "a page repeated {page_len} entries already read"
                )));
            }
            if repeated {
                // Our `last=` guess got the same entries again: the registry does not
                // page at all (distribution 2.8's tags/list ignores `n` and `last`), so
                // the first answer was the whole list.
                return Ok(all);
            }
            let linked_next = link.and_then(|l| wire::next_link(&l, &url));
            linked = linked_next.is_some();
            let next = match linked_next {
                Some(next) => Some(next),
                // No Link, but exactly the page asked for: there may be more. (A page
                // longer than `n` means the registry ignores `n`: distribution 2.8's
                // tags/list does, and sends everything.)
                None => match (self.page_size, &last) {
                    (Some(n), Some(last)) if page_len == n as usize => {
                        let mut next = first.clone();
                        next.query_pairs_mut()
                            .append_pair("n", &n.to_string())
                            .append_pair("last", last);
                        Some(next)
                    }
                    _ => None,
                },
            };
            let Some(next) = next else {
                return Ok(all);
            };
            if next.origin() != self.base.origin() {
                return Err(Error::remote(format!(
                    "{}: the registry's next-page link for {what} points to another host ({})",
                    self.host,
                    next.host_str().unwrap_or("?")
                ))
                .hint(
                    "credentials are not sent to other hosts; check the registry's configuration",
                ));
            }
            if visited.contains(&next) {
                return Err(looped(format!(
                    "the next-page link points back to {}",
                    http::redact(&next)
                )));
            }
            url = next;
        }
        Err(Error::remote(format!(
            "{}: {what} did not end after {MAX_PAGES} pages",
            self.host
        )))
    }

    /// Sends with the auth known so far; on a 401, learns from its challenge and, when
    /// that gives this request auth it did not carry, sends it once more.
    async fn send(
        &self,
        method: Method,
        url: Url,
        scope: &str,
        accept: Option<&str>,
    ) -> Result<Response> {
        let mut authorization = self.authorization(scope, None, None).await?;
        let mut answered = false;
        loop {
            let mut builder = self.http.request(method.clone(), url.clone());
            if let Some(accept) = accept {
                builder = builder.header(ACCEPT, accept);
            }
            if let Some(value) = &authorization {
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
            let asked = self.learn(challenge).await?;
            // A token this request carried was refused (expired early, revoked): the
            // next one for its scope is a new one.
            let next = self
                .authorization(scope, asked.as_deref(), authorization.as_deref())
                .await?;
            // The same auth again (refused credentials or token): the 401 stands.
            if next == authorization {
                return Ok(response);
            }
            authorization = next;
        }
    }

    /// Takes up the scheme a 401 asked for, unless an earlier challenge already set
    /// one: concurrent requests challenged at once agree on the first. Returns the
    /// scope a Bearer challenge named, for the token of this request.
    async fn learn(&self, challenge: Challenge) -> Result<Option<String>> {
        match challenge {
            Challenge::Basic => {
                // Without credentials there is nothing to answer Basic with.
                if self.credentials().await?.is_some() {
                    let mut scheme = self.lock_scheme();
                    if matches!(*scheme, Scheme::Anonymous) {
                        *scheme = Scheme::Basic;
                    }
                }
                Ok(None)
            }
            Challenge::Bearer {
                realm,
                service,
                scope,
            } => {
                if matches!(*self.lock_scheme(), Scheme::Anonymous) {
                    let realm = self.http.parse_url(&realm).map_err(|e| {
                        e.context(format!("{}: the token realm in the challenge", self.host))
                    })?;
                    let mut current = self.lock_scheme();
                    if matches!(*current, Scheme::Anonymous) {
                        *current = Scheme::Bearer { realm, service };
                    }
                }
                Ok(scope)
            }
        }
    }

    /// The `Authorization` value for a request in `scope` under the scheme known so
    /// far; under Bearer, the token for the scope a challenge named (`asked`, else the
    /// one named before for `scope`, else `scope`): fetched once, and again when it is
    /// due for renewal or is the `refused` one.
    async fn authorization(
        &self,
        scope: &str,
        asked: Option<&str>,
        refused: Option<&str>,
    ) -> Result<Option<String>> {
        let scheme = self.lock_scheme().clone();
        let Scheme::Bearer { realm, service } = scheme else {
            return Ok(match scheme {
                Scheme::Basic => self.known_credentials().map(basic_value),
                _ => None,
            });
        };
        let key = {
            let mut asked_scopes = self.asked_scopes.lock().unwrap_or_else(|p| p.into_inner());
            match asked {
                Some(asked) => {
                    if asked != scope {
                        asked_scopes.insert(scope.to_owned(), asked.to_owned());
                    }
                    asked.to_owned()
                }
                None => asked_scopes
                    .get(scope)
                    .cloned()
                    .unwrap_or_else(|| scope.to_owned()),
            }
        };
        let cell_for = |key: &str| {
            Arc::clone(
                self.tokens
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(key.to_owned())
                    .or_default(),
            )
        };
        let fetch = || self.fetch_token(&realm, service.as_deref(), &key);
        let cell = cell_for(&key);
        let token = cell.get_or_init(fetch).await.clone()?;
        let refused = refused.is_some_and(|r| r == format!("Bearer {}", token.value));
        if !refused && token.renew_at > Instant::now() {
            return Ok(Some(format!("Bearer {}", token.value)));
        }
        // Replaced once, by whichever request saw it first; the others share the new one.
        {
            let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
            if tokens
                .get(&key)
                .is_some_and(|current| Arc::ptr_eq(current, &cell))
            {
                tokens.insert(key.clone(), TokenCell::default());
            }
        }
        let token = cell_for(&key).get_or_init(fetch).await.clone()?;
        Ok(Some(format!("Bearer {}", token.value)))
    }

    /// `GET realm?service=…&scope=…`, with Basic credentials when we have them.
    async fn fetch_token(&self, realm: &Url, service: Option<&str>, scope: &str) -> Result<Token> {
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
        let asked_at = Instant::now();
        let response = self.http.send(builder).await?;
        let what = format!("token for {}", display_scope(scope));
        if !response.status().is_success() {
            return Err(self.status_error(response, &what).await);
        }
        let body = http::read_body(response, &format!("{}: {what}", self.host)).await?;
        serde_json::from_slice::<wire::TokenReply>(&body)
            .ok()
            .and_then(|reply| {
                // Renewed a tenth early: a request sent just before the end would fail.
                let renew_at = asked_at
                    .checked_add(reply.lifetime().mul_f64(0.9))
                    .unwrap_or(asked_at);
                reply.into_token().map(|value| Token { value, renew_at })
            })
            .ok_or_else(|| {
                Error::remote(format!(
                    "{}: {what}: the token server sent no token",
                    self.host
                ))
                .hint("check the registry's token service")
            })
    }

    fn lock_scheme(&self) -> std::sync::MutexGuard<'_, Scheme> {
        // A panic while holding this lock cannot leave the value half-written, so a
        // poisoned lock is still usable.
        self.scheme.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The one-line error for a non-success status: [`http::status_error`] with the
    /// registry's own words, refined where the registry knows more.
    async fn status_error(&self, response: Response, what: &str) -> Error {
        let status = response.status();
        let url = response.url().clone();
        let body = http::error_body(response).await;
        let said = wire::describe_error_body(&body).unwrap_or_default();
        let host = &self.host;
        match status {
            StatusCode::NOT_FOUND if url.path() == "/v2/" => Error::remote(format!(
                "{host}: not an OCI registry (GET /v2/ answered 404)"
            ))
            .hint("check --registry: it should name the registry host, not a web page"),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                let hint = match self.credentials_source() {
                    Some(source) => format!(
                        "the credentials from {source} were refused; check the username and password or API key"
                    ),
                    None => "pass --username/--password (or REGISTRY_USERNAME/REGISTRY_PASSWORD), or `docker login` the registry".to_owned(),
                };
                // A 401's body only repeats "authentication required".
                let said = if status == StatusCode::UNAUTHORIZED {
                    ""
                } else {
                    &said
                };
                http::status_error(status, &format!("{host}: {what}"), said).hint(hint)
            }
            _ => http::status_error(status, &format!("{host}: {what}"), &said),
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

    /// A scripted registry on loopback: `answer` gets each request's method, path and
    /// query, and `Authorization` header, and returns status, headers and body; every
    /// request is logged as `METHOD /path?query`.
    mod scripted {
        use std::sync::{Arc, Mutex};

        use axum::body::Body;
        use axum::extract::Request;
        use axum::http::{HeaderName, HeaderValue, StatusCode};
        use axum::response::Response;

        pub type Answer = (u16, Vec<(&'static str, String)>, String);

        /// In an answer's headers: wait this many milliseconds before answering.
        pub const STALL: &str = "x-stall-ms";

        pub struct Server {
            pub url: String,
            pub log: Arc<Mutex<Vec<String>>>,
        }

        impl Server {
            pub fn hits(&self, prefix: &str) -> usize {
                self.log
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|r| r.starts_with(prefix))
                    .count()
            }
        }

        pub async fn serve(
            answer: impl Fn(&str, &str, Option<&str>) -> Answer + Send + Sync + 'static,
        ) -> Server {
            let log = Arc::new(Mutex::new(Vec::new()));
            let answer = Arc::new(answer);
            let seen = Arc::clone(&log);
            let app = axum::Router::new().fallback(move |request: Request| {
                let answer = Arc::clone(&answer);
                let seen = Arc::clone(&seen);
                async move {
                    let target = request
                        .uri()
                        .path_and_query()
                        .map_or("/".to_owned(), |pq| pq.as_str().to_owned());
                    seen.lock()
                        .unwrap()
                        .push(format!("{} {target}", request.method()));
                    let auth = request
                        .headers()
                        .get("authorization")
                        .and_then(|v| v.to_str().ok());
                    // A little latency, so that concurrent requests really overlap.
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    let (status, headers, body) = answer(request.method().as_str(), &target, auth);
                    let mut response = Response::new(Body::from(body));
                    *response.status_mut() = StatusCode::from_u16(status).unwrap();
                    for (name, value) in headers {
                        // A pseudo-header: hold the answer this long.
                        if name == STALL {
                            let ms = value.parse().unwrap();
                            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                            continue;
                        }
                        response.headers_mut().insert(
                            HeaderName::from_static(name),
                            HeaderValue::from_str(&value).unwrap(),
                        );
                    }
                    response
                }
            });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            tokio::spawn(async move { axum::serve(listener, app).await });
            Server { url, log }
        }
    }

    use scripted::Answer;

    fn ok(body: &str) -> Answer {
        (200, Vec::new(), body.to_owned())
    }

    fn registry(url: &str, page_size: Option<u32>) -> Registry {
        let http = Client::new(&http::HttpConfig {
            retries: 0,
            ..http::HttpConfig::default()
        })
        .unwrap();
        let settings = Settings {
            registry: url.to_owned(),
            page_size,
            ..Settings::default()
        };
        Registry::new(http, &settings).unwrap()
    }

    #[tokio::test]
    async fn a_next_page_link_back_to_a_page_already_read_is_exit_3_not_a_shorter_list() {
        let server = scripted::serve(|_, target, _| match target {
            "/v2/" => ok("{}"),
            "/v2/app/tags/list" => (
                200,
                vec![("link", r#"</v2/app/tags/list?last=b>; rel="next""#.into())],
                r#"{"tags":["a","b"]}"#.into(),
            ),
            // The second page points back at the first.
            _ => (
                200,
                vec![("link", r#"</v2/app/tags/list>; rel="next""#.into())],
                r#"{"tags":["c"]}"#.into(),
            ),
        })
        .await;
        let err = registry(&server.url, None).tags("app").await.unwrap_err();
        assert_eq!(err.exit_code(), 3, "{}", err.message());
        assert!(
            err.message().ends_with(
                "the registry's pages of tags of app loop: the next-page link points back to \
                 http://127.0.0.1:PORT/v2/app/tags/list; the list would be incomplete"
                    .replace("127.0.0.1:PORT", server.url.trim_start_matches("http://"))
                    .as_str()
            ),
            "{}",
            err.message()
        );
        assert_eq!(server.hits("GET /v2/app/tags/list"), 2);
    }

    #[tokio::test]
    async fn a_registry_whose_link_leads_to_the_same_page_again_is_exit_3() {
        // The Link says "more after b", but the registry ignores `last` and starts over:
        // without a loop check this ends with two of the tags and exit 0.
        let server = scripted::serve(|_, target, _| match target {
            "/v2/" => ok("{}"),
            _ => (
                200,
                vec![(
                    "link",
                    r#"</v2/app/tags/list?n=2&last=b>; rel="next""#.into(),
                )],
                r#"{"tags":["a","b"]}"#.into(),
            ),
        })
        .await;
        let err = registry(&server.url, Some(2))
            .tags("app")
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), 3);
        assert!(
            err.message()
                .contains("pages of tags of app loop: a page repeated 2 entries already read"),
            "{}",
            err.message()
        );
    }

    #[tokio::test]
    async fn a_last_that_the_registry_treats_as_inclusive_still_lists_everything() {
        // Each page repeats the previous page's last entry: not a loop, and not a dup.
        let server = scripted::serve(|_, target, _| match target {
            "/v2/" => ok("{}"),
            "/v2/app/tags/list?n=2" => ok(r#"{"tags":["a","b"]}"#),
            "/v2/app/tags/list?n=2&last=b" => ok(r#"{"tags":["b","c"]}"#),
            _ => ok(r#"{"tags":["c"]}"#),
        })
        .await;
        let tags = registry(&server.url, Some(2)).tags("app").await.unwrap();
        assert_eq!(tags, ["a", "b", "c"]);
    }

    #[tokio::test]
    async fn a_registry_that_ignores_n_and_last_without_links_lists_once_and_ends() {
        // distribution 2.8's tags/list: everything at once, whatever `n` says. A list
        // exactly `n` long makes us ask again with `last=`, and get the same list.
        let server = scripted::serve(|_, target, _| match target {
            "/v2/" => ok("{}"),
            _ => ok(r#"{"tags":["a","b"]}"#),
        })
        .await;
        let tags = registry(&server.url, Some(2)).tags("app").await.unwrap();
        assert_eq!(tags, ["a", "b"]);
        assert_eq!(server.hits("GET /v2/app/tags/list"), 2);
    }

    #[tokio::test]
    async fn a_manifest_without_a_digest_header_is_present_with_no_digest_not_an_empty_one() {
        let digest = "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b";
        let server = scripted::serve(move |_, target, _| match target {
            "/v2/" => ok("{}"),
            "/v2/app/manifests/with" => (
                200,
                vec![("docker-content-digest", digest.to_owned())],
                String::new(),
            ),
            "/v2/app/manifests/empty" => (
                200,
                vec![("docker-content-digest", String::new())],
                String::new(),
            ),
            "/v2/app/manifests/bad" => (
                200,
                vec![("docker-content-digest", "not a digest".to_owned())],
                String::new(),
            ),
            "/v2/app/manifests/without" => ok(""),
            _ => (
                404,
                Vec::new(),
                r#"{"errors":[{"code":"MANIFEST_UNKNOWN"}]}"#.into(),
            ),
        })
        .await;
        let registry = registry(&server.url, None);
        let head = |reference: &'static str| registry.manifest("app", reference);
        assert_eq!(
            head("with").await.unwrap(),
            Manifest::Present {
                digest: Some(digest.to_owned())
            }
        );
        assert_eq!(
            head("without").await.unwrap(),
            Manifest::Present { digest: None }
        );
        assert_eq!(
            head("empty").await.unwrap(),
            Manifest::Present { digest: None }
        );
        assert_eq!(head("gone").await.unwrap(), Manifest::Missing);
        let err = head("bad").await.unwrap_err();
        assert_eq!(err.exit_code(), 3);
        assert!(
            err.message()
                .ends_with("manifest app:bad: the registry sent a malformed docker-content-digest header ('not a digest')"),
            "{}",
            err.message()
        );
    }

    #[tokio::test]
    async fn the_probe_is_sent_once_however_many_calls_share_it() {
        let server = scripted::serve(|_, target, _| match target {
            "/v2/" => ok("{}"),
            "/v2/_catalog" => ok(r#"{"repositories":["a","b"]}"#),
            _ => ok(r#"{"tags":["v1"]}"#),
        })
        .await;
        let registry = registry(&server.url, None);
        registry.catalog().await.unwrap();
        let calls = ["a", "b", "c"].map(|r| registry.tags(r));
        for tags in futures::future::join_all(calls).await {
            assert_eq!(tags.unwrap(), ["v1"]);
        }
        assert_eq!(server.hits("GET /v2/"), 5, "{:?}", server.log);
        assert_eq!(
            server
                .log
                .lock()
                .unwrap()
                .iter()
                .filter(|r| *r == "GET /v2/")
                .count(),
            1
        );
    }

    #[tokio::test]
    async fn concurrent_basic_challenges_are_all_answered_with_the_first_challenge() {
        // user "ci", password "pw".
        let expected = "Basic Y2k6cHc=";
        let server = scripted::serve(move |_, target, auth| {
            if auth != Some(expected) {
                return (
                    401,
                    vec![("www-authenticate", r#"Basic realm="test""#.into())],
                    String::new(),
                );
            }
            match target {
                "/v2/" => ok("{}"),
                _ => ok(r#"{"tags":["v1"]}"#),
            }
        })
        .await;
        let http = Client::new(&http::HttpConfig::default()).unwrap();
        let registry = Registry::new(
            http,
            &Settings {
                registry: server.url.clone(),
                username: Some("ci".into()),
                password: Some("pw".into()),
                page_size: None,
            },
        )
        .unwrap();
        let names: Vec<String> = (0..8).map(|i| format!("app{i}")).collect();
        let results = futures::future::join_all(names.iter().map(|n| registry.tags(n))).await;
        for result in results {
            assert_eq!(result.unwrap(), ["v1"]);
        }
        // Every request went out at once without auth, and once more with it.
        assert_eq!(server.log.lock().unwrap().len(), 18);
    }

    #[tokio::test]
    async fn concurrent_bearer_challenges_fetch_one_token_per_scope_not_one_per_request() {
        let realm = Arc::new(std::sync::OnceLock::<String>::new());
        let own = Arc::clone(&realm);
        let server = scripted::serve(move |_, target, auth| {
            if target.starts_with("/token") {
                let scope = target.split("scope=").nth(1).unwrap_or("");
                return ok(&format!(r#"{{"token":"t.{scope}"}}"#));
            }
            let scope = match target.split_once("/manifests/") {
                Some((repo, _)) => {
                    format!("repository%3A{}%3Apull", repo.trim_start_matches("/v2/"))
                }
                None => String::new(),
            };
            let accepted = match auth {
                Some(given) if target == "/v2/" => given.starts_with("Bearer t."),
                Some(given) => given == format!("Bearer t.{scope}"),
                None => false,
            };
            if accepted {
                let digest = "sha256:abc".to_owned();
                (200, vec![("docker-content-digest", digest)], "{}".into())
            } else {
                let challenge = format!(
                    r#"Bearer realm="{}/token",service="test""#,
                    own.get().unwrap()
                );
                (401, vec![("www-authenticate", challenge)], String::new())
            }
        })
        .await;
        realm.set(server.url.clone()).unwrap();
        let registry = registry(&server.url, None);
        // Twelve HEADs of one repository and four of another, all at once.
        let mut calls = Vec::new();
        for i in 0..12 {
            calls.push(("app", format!("v{i}")));
        }
        for i in 0..4 {
            calls.push(("tool", format!("v{i}")));
        }
        let answers = futures::future::join_all(
            calls
                .iter()
                .map(|(repo, reference)| registry.manifest(repo, reference)),
        )
        .await;
        for answer in answers {
            assert_eq!(
                answer.unwrap(),
                Manifest::Present {
                    digest: Some("sha256:abc".into())
                }
            );
        }
        let log = server.log.lock().unwrap().clone();
        let mut token_fetches: Vec<&String> =
            log.iter().filter(|r| r.starts_with("GET /token")).collect();
        token_fetches.sort();
        assert_eq!(
            token_fetches,
            [
                "GET /token?service=test",
                "GET /token?service=test&scope=repository%3Aapp%3Apull",
                "GET /token?service=test&scope=repository%3Atool%3Apull",
            ],
            "{log:#?}"
        );
        // Each HEAD at most twice (challenged, then with its token); the probe too.
        assert!(server.hits("HEAD ") <= 32, "{log:#?}");
        assert!(server.hits("GET /v2/") <= 2, "{log:#?}");
    }

    #[tokio::test]
    async fn a_failed_probe_ends_the_calls_beside_it_at_once() {
        // /v2/ says this is no registry; the tag list would take a minute.
        let server = scripted::serve(|_, target, _| match target {
            "/v2/" => (404, Vec::new(), "<html>no</html>".into()),
            _ => (
                200,
                vec![(scripted::STALL, "60000".into())],
                r#"{"tags":[]}"#.into(),
            ),
        })
        .await;
        let started = std::time::Instant::now();
        let err = registry(&server.url, None).tags("app").await.unwrap_err();
        assert_eq!(err.exit_code(), 3);
        assert!(
            err.message()
                .ends_with("not an OCI registry (GET /v2/ answered 404)"),
            "{}",
            err.message()
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
}
