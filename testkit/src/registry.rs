//! A real OCI registry for tests: Debian's `docker-registry` (distribution 2.8) on a
//! free loopback port with temporary storage, optionally behind htpasswd (bcrypt)
//! Basic auth, and a pusher that uploads tiny images through the OCI API itself
//! (blob upload `POST` + `PUT`, manifest `PUT`), so no docker, skopeo or network.

use std::collections::HashSet;
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// Where the Debian package installs the registry; CI installs the same package.
const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// A running `docker-registry`; killed when dropped.
pub struct TestRegistry {
    child: Child,
    dir: tempfile::TempDir,
    addr: SocketAddr,
    credentials: Option<(String, String)>,
}

impl TestRegistry {
    /// An anonymous registry.
    pub fn start() -> Self {
        Self::launch(None, None)
    }

    /// A registry that wants Basic auth with this user and password (htpasswd, bcrypt).
    pub fn start_with_auth(user: &str, password: &str) -> Self {
        Self::launch(Some((user.to_owned(), password.to_owned())), None)
    }

    /// A registry on a given loopback port (for scripts that need a known address);
    /// `None` picks a free one.
    pub fn start_on(port: Option<u16>, credentials: Option<(String, String)>) -> Self {
        Self::launch(credentials, port)
    }

    fn launch(credentials: Option<(String, String)>, fixed_port: Option<u16>) -> Self {
        // The free port is found by binding :0 and releasing it; another process may take
        // it in between, so a registry that does not come up is retried on a new port.
        let mut last_log = String::new();
        let attempts = if fixed_port.is_some() { 1 } else { 5 };
        for _ in 0..attempts {
            let dir = tempfile::tempdir().expect("create registry temp dir");
            let port = fixed_port.unwrap_or_else(free_port);
            let config = write_config(&dir, port, credentials.as_ref());
            let log = std::fs::File::create(dir.path().join("registry.log")).expect("log file");
            let child = Command::new(REGISTRY_BIN)
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("clone log handle"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("cannot start {REGISTRY_BIN} ({e}); install Debian's docker-registry")
                });
            let mut registry = TestRegistry {
                child,
                dir,
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                credentials: credentials.clone(),
            };
            if registry.wait_ready(Duration::from_secs(15)) {
                return registry;
            }
            last_log = std::fs::read_to_string(registry.dir.path().join("registry.log"))
                .unwrap_or_default();
        }
        panic!("docker-registry did not come up (port taken?); its log:\n{last_log}");
    }

    fn wait_ready(&mut self, limit: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if let Ok(mut stream) = TcpStream::connect(self.addr) {
                use std::io::Write;
                let request = "GET /v2/ HTTP/1.0\r\nHost: localhost\r\n\r\n";
                let mut reply = String::new();
                if stream.write_all(request.as_bytes()).is_ok()
                    && stream.read_to_string(&mut reply).is_ok()
                    && (reply.starts_with("HTTP/1.0 200")
                        || reply.starts_with("HTTP/1.0 401")
                        || reply.starts_with("HTTP/1.1 200")
                        || reply.starts_with("HTTP/1.1 401"))
                {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        false
    }

    /// `127.0.0.1:PORT`, as `--registry` takes it.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A pusher with this registry's credentials.
    pub fn pusher(&self) -> Pusher {
        Pusher::new(&self.url(), self.credentials.clone())
    }

    /// Pushes a tiny image as `repository:tag`; returns its manifest digest.
    pub fn push(&self, repository: &str, tag: &str) -> String {
        self.pusher().push(repository, tag)
    }

    /// The registry's log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}

fn write_config(
    dir: &tempfile::TempDir,
    port: u16,
    credentials: Option<&(String, String)>,
) -> PathBuf {
    let storage = dir.path().join("data");
    let mut config = format!(
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
        storage.display()
    );
    if let Some((user, password)) = credentials {
        let out = Command::new("htpasswd")
            .args(["-Bbn", user, password])
            .output()
            .expect("run htpasswd (apache2-utils)");
        assert!(out.status.success(), "htpasswd failed");
        let file = dir.path().join("htpasswd");
        std::fs::write(&file, out.stdout).expect("write htpasswd");
        config.push_str(&format!(
            "auth:\n  htpasswd:\n    realm: opskit-test\n    path: {}\n",
            file.display()
        ));
    }
    let path = dir.path().join("config.yml");
    std::fs::write(&path, config).expect("write registry config");
    path
}

/// Pushes tiny OCI images to any registry through the distribution API.
pub struct Pusher {
    base: String,
    credentials: Option<(String, String)>,
    client: reqwest::blocking::Client,
    /// Repositories whose blobs are already uploaded: every image shares them.
    ready: Mutex<HashSet<String>>,
}

const CONFIG_BLOB: &[u8] =
    br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
const LAYER_BLOB: &[u8] = b"opskit test layer\n";

impl Pusher {
    pub fn new(base: &str, credentials: Option<(String, String)>) -> Self {
        Pusher {
            base: base.trim_end_matches('/').to_owned(),
            credentials,
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("blocking HTTP client"),
            ready: Mutex::new(HashSet::new()),
        }
    }

    fn authed(
        &self,
        builder: reqwest::blocking::RequestBuilder,
    ) -> reqwest::blocking::RequestBuilder {
        match &self.credentials {
            Some((user, password)) => builder.basic_auth(user, Some(password)),
            None => builder,
        }
    }

    fn upload_blob(&self, repository: &str, blob: &[u8]) {
        let start = self
            .authed(
                self.client
                    .post(format!("{}/v2/{repository}/blobs/uploads/", self.base)),
            )
            .send()
            .expect("start blob upload");
        assert_eq!(
            start.status().as_u16(),
            202,
            "blob upload POST: {}",
            start.status()
        );
        let location = start
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .expect("upload Location header")
            .to_owned();
        let target = if location.starts_with('/') {
            format!("{}{location}", self.base)
        } else {
            location
        };
        let separator = if target.contains('?') { '&' } else { '?' };
        let done = self
            .authed(
                self.client
                    .put(format!("{target}{separator}digest={}", digest(blob)))
                    .header("content-type", "application/octet-stream")
                    .body(blob.to_vec()),
            )
            .send()
            .expect("finish blob upload");
        assert_eq!(
            done.status().as_u16(),
            201,
            "blob upload PUT: {}",
            done.status()
        );
    }

    /// Pushes `repository:tag` (an OCI manifest whose annotation names the tag, so each
    /// tag has its own digest); returns the manifest digest.
    pub fn push(&self, repository: &str, tag: &str) -> String {
        {
            // Held across the upload, so no manifest is sent before its blobs exist.
            let mut ready = self.ready.lock().expect("pusher lock");
            if !ready.contains(repository) {
                self.upload_blob(repository, CONFIG_BLOB);
                self.upload_blob(repository, LAYER_BLOB);
                ready.insert(repository.to_owned());
            }
        }
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": digest(CONFIG_BLOB),
                "size": CONFIG_BLOB.len(),
            },
            "layers": [{
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": digest(LAYER_BLOB),
                "size": LAYER_BLOB.len(),
            }],
            "annotations": { "org.opencontainers.image.ref.name": tag },
        });
        let body = serde_json::to_vec(&manifest).expect("manifest JSON");
        let response = self
            .authed(
                self.client
                    .put(format!("{}/v2/{repository}/manifests/{tag}", self.base))
                    .header("content-type", "application/vnd.oci.image.manifest.v1+json")
                    .body(body.clone()),
            )
            .send()
            .expect("put manifest");
        assert_eq!(
            response.status().as_u16(),
            201,
            "manifest PUT {repository}:{tag}: {}",
            response.status()
        );
        digest(&body)
    }
}

/// `sha256:<hex>` of some bytes.
pub fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}
