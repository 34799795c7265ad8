//! The generic package registry and the package listing.
//!
//! Mirrors (apis.md §2.1, §2.2; FJ routers/api/packages/{api.go,generic/generic.go},
//! routers/api/v1/packages/package.go, v14; the same on every level but for the file
//! listing's `Size`, which is `size` on Gitea ≥1.24):
//!
//! - `PUT /api/packages/{owner}/generic/{pkg}/{ver}/{file}`: 201 with an empty body;
//!   **409** `package file already exists` for a file name the version has (a new name
//!   in an existing version is fine); 400 `invalid package name` / `invalid filename` /
//!   `invalid package version`. Writing needs a token with `write:package`: without
//!   one, or with one lacking the scope, the answer is **401** with
//!   `WWW-Authenticate: Basic realm="Gitea Package API"` and the body `reqPackageAccess`
//!   (`reqPackageAccess` calls the web `Context.Error`, whose first argument is the
//!   text sent). Error bodies on these routes are plain text.
//! - `GET` on the same path: the bytes with `Content-Disposition: attachment` and
//!   `Last-Modified`; 404 `package does not exist` / `package file does not exist`.
//!   Reading is anonymous for a visible owner (unless sign-in is required).
//! - `GET /api/v1/packages/{owner}?type=&q=&page=&limit=`: one row per version, newest
//!   first, `q` a substring of the name, with `Link` and `X-Total-Count`. Anonymous on
//!   Forgejo v12+; Forgejo v11 and Gitea answer 401 without a token. A token without
//!   `read:package` (or `write:package`) is 403 with the usual JSON message.
//! - `GET /api/v1/packages/{owner}/{type}/{name}/{ver}` (one row) and `…/files`.
//!
//! Every package belongs to the repository's owner; another owner is 404.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use opskit::forge::packages::{valid_file_name, valid_package_name};

use super::*;

impl Forge {
    /// A known token's scopes, or `None` for no token or an unknown one (which the
    /// package routes treat as anonymous, as Forgejo's auth group does).
    fn scopes(&self, headers: &HeaderMap) -> Option<&[String]> {
        self.token_of(headers).map(|(_, scopes)| scopes.as_slice())
    }

    /// `reqPackageAccess` on `/api/packages`: reads are open (unless sign-in is
    /// required), writes need `write:package`.
    fn check_generic_access(&self, headers: &HeaderMap, write: bool) -> Result<(), Refusal> {
        let scopes = self.scopes(headers);
        let allowed = match scopes {
            Some(scopes) if write => scopes.iter().any(|s| s == "write:package"),
            Some(scopes) => scopes
                .iter()
                .any(|s| s == "read:package" || s == "write:package"),
            None => !write && !self.require_signin,
        };
        if allowed {
            return Ok(());
        }
        let mut refusal = plain(StatusCode::UNAUTHORIZED, "reqPackageAccess");
        refusal.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Gitea Package API\""),
        );
        Err(Box::new(refusal))
    }

    /// The token check of `/api/v1/packages/…` (read).
    fn check_package_api(&self, owner: &str, headers: &HeaderMap) -> Result<(), Refusal> {
        if owner != self.owner {
            return Err(Box::new(not_found()));
        }
        let anonymous_listing = matches!(self.level, ApiLevel::V14 | ApiLevel::V16);
        match self.scopes(headers) {
            Some(scopes)
                if scopes
                    .iter()
                    .any(|s| s == "read:package" || s == "write:package") =>
            {
                Ok(())
            }
            Some(_) => Err(Box::new(message(
                StatusCode::FORBIDDEN,
                "token does not have at least one of required scope(s): [read:package]",
            ))),
            None if headers.contains_key(header::AUTHORIZATION) => Err(Box::new(message(
                StatusCode::UNAUTHORIZED,
                "invalid username, password or token",
            ))),
            None if anonymous_listing && !self.require_signin => Ok(()),
            None => Err(Box::new(message(
                StatusCode::UNAUTHORIZED,
                "token is required",
            ))),
        }
    }
}

type FilePath = Path<(String, String, String, String)>;

pub(super) async fn upload_generic(
    State(forge): State<Arc<Forge>>,
    Path((owner, package, version, file)): FilePath,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if owner != forge.owner {
        return plain(StatusCode::NOT_FOUND, "user does not exist");
    }
    if let Err(r) = forge.check_generic_access(&headers, true) {
        return *r;
    }
    if !valid_package_name(&package) {
        return plain(StatusCode::BAD_REQUEST, "invalid package name");
    }
    if !valid_file_name(&file) {
        return plain(StatusCode::BAD_REQUEST, "invalid filename");
    }
    if version.is_empty() || version.trim() != version {
        return plain(StatusCode::BAD_REQUEST, "invalid package version");
    }
    if let Some(code) = forge.upload_answer {
        let status = StatusCode::from_u16(code).expect("a valid status");
        return plain(status, status.canonical_reason().unwrap_or("error"));
    }
    let mut store = forge.store.lock().expect("lock");
    let exists = store
        .version(&package, &version)
        .is_some_and(|v| v.files.iter().any(|f| f.name == file));
    if exists {
        return plain(StatusCode::CONFLICT, "package file already exists");
    }
    let kept = forge.upload_keeps.unwrap_or(body.len()).min(body.len());
    store.add_file(&package, &version, &file, body[..kept].to_vec());
    StatusCode::CREATED.into_response()
}

pub(super) async fn download_generic(
    State(forge): State<Arc<Forge>>,
    Path((owner, package, version, file)): FilePath,
    headers: HeaderMap,
) -> Response {
    if owner != forge.owner {
        return plain(StatusCode::NOT_FOUND, "user does not exist");
    }
    if let Err(r) = forge.check_generic_access(&headers, false) {
        return *r;
    }
    let store = forge.store.lock().expect("lock");
    let Some(found) = store.version(&package, &version) else {
        return plain(StatusCode::NOT_FOUND, "package does not exist");
    };
    let Some(file_rec) = found.files.iter().find(|f| f.name == file) else {
        return plain(StatusCode::NOT_FOUND, "package file does not exist");
    };
    attachment(&file_rec.name, file_rec.content.clone(), found.created)
}

/// A file served for download, as Forgejo's `ServeContent` sends it.
pub(super) fn attachment(name: &str, content: Vec<u8>, modified: i64) -> Response {
    let modified = jiff::Timestamp::from_second(modified)
        .map(|t| t.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or_default();
    (
        [
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::LAST_MODIFIED, modified),
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
        ],
        content,
    )
        .into_response()
}

pub(super) async fn list_packages(
    State(forge): State<Arc<Forge>>,
    Path(owner): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = forge.check_package_api(&owner, &headers) {
        return *r;
    }
    let query = parse_query(raw);
    let get = |key: &str| {
        query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let (kind, q) = (get("type"), get("q"));
    let root = forge.root_url(&headers);
    let store = forge.store.lock().expect("lock");
    // Every package here is generic; another type lists nothing.
    let generic = kind.is_empty() || kind == "generic";
    let matching: Vec<&VersionRec> = store
        .versions
        .iter()
        .rev()
        .filter(|v| generic && v.package.contains(&q))
        .collect();
    let (page, limit) = forge.paging(&query);
    let rows: Vec<Value> = page_of(&matching, page, limit)
        .into_iter()
        .map(|v| forge.package_json(&root, v))
        .collect();
    let mut response = axum::Json(Value::Array(rows)).into_response();
    let headers = response.headers_mut();
    let total = matching.len();
    headers.insert("x-total-count", HeaderValue::from(total));
    let link = link_header(
        &format!("{root}/api/v1/packages/{owner}"),
        &query,
        page,
        limit,
        total,
    );
    if let Ok(value) = HeaderValue::from_str(&link) {
        headers.insert(header::LINK, value);
    }
    response
}

/// `Link` as Forgejo's `SetLinkHeader` writes it: next and last while there are more
/// pages, first and prev after the first.
fn link_header(
    base: &str,
    query: &[(String, String)],
    page: usize,
    limit: usize,
    total: usize,
) -> String {
    let last = total.div_ceil(limit).max(1);
    let url = |p: usize| {
        let mut pairs: Vec<(String, String)> = query
            .iter()
            .filter(|(k, _)| k != "page" && k != "limit")
            .cloned()
            .collect();
        pairs.push(("page".to_owned(), p.to_string()));
        pairs.push(("limit".to_owned(), limit.to_string()));
        let text: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        format!("<{base}?{text}>")
    };
    let mut links = Vec::new();
    if page < last {
        links.push(format!("{}; rel=\"next\"", url(page + 1)));
        links.push(format!("{}; rel=\"last\"", url(last)));
    }
    if page > 1 {
        links.push(format!("{}; rel=\"first\"", url(1)));
        links.push(format!("{}; rel=\"prev\"", url(page - 1)));
    }
    links.join(",")
}

pub(super) async fn one_package(
    State(forge): State<Arc<Forge>>,
    Path(path): FilePath,
    headers: HeaderMap,
) -> Response {
    let root = forge.root_url(&headers);
    answer_version(&forge, path, &headers, |found| {
        forge.package_json(&root, found)
    })
}

pub(super) async fn package_files(
    State(forge): State<Arc<Forge>>,
    Path(path): FilePath,
    headers: HeaderMap,
) -> Response {
    answer_version(&forge, path, &headers, |found| {
        Value::Array(
            found
                .files
                .iter()
                .map(|f| forge.package_file_json(f))
                .collect(),
        )
    })
}

/// The answer of a `/api/v1/packages/{owner}/{type}/{name}/{ver}[/…]` route: the
/// checks, then `show` of the version, or 404.
fn answer_version(
    forge: &Forge,
    (owner, kind, package, version): (String, String, String, String),
    headers: &HeaderMap,
    show: impl FnOnce(&VersionRec) -> Value,
) -> Response {
    if let Err(r) = forge.check_package_api(&owner, headers) {
        return *r;
    }
    let store = forge.store.lock().expect("lock");
    match store
        .version(&package, &version)
        .filter(|_| kind == "generic")
    {
        Some(found) => axum::Json(show(found)).into_response(),
        None => not_found(),
    }
}

impl Forge {
    /// Forgejo's ROOT_URL: the server's address as the request reached it, or with
    /// [`Builder::public_host`] that host at the same port.
    pub(super) fn root_url(&self, headers: &HeaderMap) -> String {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("forge.example");
        match (&self.public_host, host.rsplit_once(':')) {
            (Some(public), Some((_, port))) => format!("http://{public}:{port}"),
            (Some(public), None) => format!("http://{public}"),
            (None, _) => format!("http://{host}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "tok-pkg";

    fn client() -> reqwest::blocking::Client {
        reqwest::blocking::Client::new()
    }

    #[test]
    fn a_write_without_the_scope_is_a_plain_401_with_the_package_realm() {
        let server = FakeForgejo::builder(ApiLevel::V16)
            .token("tok-read", &["read:repository"])
            .start();
        let url = format!("{}/api/packages/acme/generic/docs/v1/a.tgz", server.url());
        for token in [None, Some("tok-read")] {
            let mut request = client().put(&url).body("x");
            if let Some(token) = token {
                request = request.header("authorization", format!("token {token}"));
            }
            let response = request.send().unwrap();
            assert_eq!(response.status(), 401, "{token:?}");
            assert_eq!(
                response.headers()["www-authenticate"],
                "Basic realm=\"Gitea Package API\""
            );
            assert_eq!(response.text().unwrap(), "reqPackageAccess\n");
        }
        assert_eq!(server.package_file("docs", "v1", "a.tgz"), None);
    }

    #[test]
    fn a_second_upload_of_a_name_is_409_but_a_new_name_in_the_version_is_fine() {
        let server = FakeForgejo::builder(ApiLevel::V16)
            .token(TOKEN, &["write:package"])
            .start();
        let put = |file: &str, body: &'static str| {
            client()
                .put(format!(
                    "{}/api/packages/acme/generic/docs/v1/{file}",
                    server.url()
                ))
                .header("authorization", format!("token {TOKEN}"))
                .body(body)
                .send()
                .unwrap()
        };
        assert_eq!(put("a.tgz", "one").status(), 201);
        let again = put("a.tgz", "two");
        assert_eq!(again.status(), 409);
        assert_eq!(again.text().unwrap(), "package file already exists\n");
        assert_eq!(put("b.tgz", "three").status(), 201);
        assert_eq!(put(" c.tgz", "x").status(), 400);
        assert_eq!(server.package_file("docs", "v1", "a.tgz").unwrap(), b"one");
        let download = client()
            .get(format!(
                "{}/api/packages/acme/generic/docs/v1/a.tgz",
                server.url()
            ))
            .send()
            .unwrap();
        assert_eq!(
            download.headers()["content-disposition"],
            "attachment; filename=\"a.tgz\""
        );
        assert!(download.headers().contains_key("last-modified"));
        assert_eq!(download.bytes().unwrap().as_ref(), b"one");
    }

    #[test]
    fn file_listings_use_forgejos_size_key_and_gitea_s_size() {
        for (level, key) in [(ApiLevel::V16, "Size"), (ApiLevel::Gitea125, "size")] {
            let server = FakeForgejo::builder(level)
                .token(TOKEN, &["read:package"])
                .package_file("docs", "v1", "a.tgz", b"abc")
                .start();
            let files: Value = client()
                .get(format!(
                    "{}/api/v1/packages/acme/generic/docs/v1/files",
                    server.url()
                ))
                .header("authorization", format!("token {TOKEN}"))
                .send()
                .unwrap()
                .json()
                .unwrap();
            assert_eq!(files[0][key], 3, "{level:?}: {files}");
            assert_eq!(
                files[0]["sha256"],
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            );
        }
    }

    #[test]
    fn the_listing_is_newest_first_by_substring_with_paging_headers() {
        let mut builder = FakeForgejo::builder(ApiLevel::V16);
        for n in 1..=3 {
            builder = builder.package_file("docs", &format!("v{n}"), "f", b"x");
        }
        let server = builder.package_file("other", "v9", "f", b"x").start();
        let response = client()
            .get(format!(
                "{}/api/v1/packages/acme?type=generic&q=doc&page=1&limit=2",
                server.url()
            ))
            .send()
            .unwrap();
        assert_eq!(response.headers()["x-total-count"], "3");
        let link = response.headers()["link"].to_str().unwrap().to_owned();
        assert!(link.contains("page=2&limit=2>; rel=\"next\""), "{link}");
        let rows: Value = response.json().unwrap();
        let versions: Vec<&str> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["version"].as_str().unwrap())
            .collect();
        assert_eq!(versions, ["v3", "v2"]);
    }

    #[test]
    fn anonymous_listing_is_401_before_forgejo_v12_and_on_gitea() {
        for (level, status) in [
            (ApiLevel::V11, 401),
            (ApiLevel::Gitea125, 401),
            (ApiLevel::V14, 200),
        ] {
            let server = FakeForgejo::builder(level).start();
            let response = client()
                .get(format!(
                    "{}/api/v1/packages/acme?type=generic",
                    server.url()
                ))
                .send()
                .unwrap();
            assert_eq!(response.status(), status, "{level:?}");
        }
    }
}
