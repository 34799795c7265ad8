//! The real dagger-sdk 0.21.11 against [`FakeEngine`]: proves the fake answers what
//! the SDK parses (ids, nesting, `EXEC_ERROR`, broken answers), and records how the
//! SDK phrases what a pipeline asks for.
//!
//! Most tests build the SDK's own HTTP client (`DefaultGraphQLClient`) from the
//! engine's port and token, so nothing process-global is touched; one test goes
//! through `dagger_sdk::connect` and `DAGGER_SESSION_PORT`/`TOKEN`, in a child process
//! of this binary, since the environment is process-wide.

use std::sync::Arc;

use dagger_sdk::core::config::Config;
use dagger_sdk::core::connect_params::ConnectParams;
use dagger_sdk::core::gql_client::GraphQlExtension;
use dagger_sdk::core::graphql_client::{DefaultGraphQLClient, GraphQLError};
use dagger_sdk::errors::DaggerError;
use dagger_sdk::{BuildArg, DirectoryDockerBuildOptsBuilder, Selection};
use testkit::dagger::{EXPORTED_ARCHIVE, FailExec, FakeEngine, Query, RawAnswer};

fn client(engine: &FakeEngine) -> dagger_sdk::Query {
    client_with_token(engine, engine.token())
}

fn client_with_token(engine: &FakeEngine, token: &str) -> dagger_sdk::Query {
    let params = ConnectParams::new(u64::from(engine.port()), token);
    dagger_sdk::Query {
        proc: None,
        selection: Selection::default(),
        graphql_client: Arc::new(DefaultGraphQLClient::new(&params, &Config::default())),
    }
}

/// The message of a `DaggerError::Query` that is not a GraphQL error list.
fn http_error(err: DaggerError) -> String {
    match err {
        DaggerError::Query(GraphQLError::HttpError(message)) => message,
        other => panic!("expected an HTTP-level error, got {other:?}"),
    }
}

#[tokio::test]
async fn sdk_reads_a_leaf_answered_along_the_selection_path() {
    let engine = FakeEngine::builder()
        .answer("stdout", serde_json::json!("hi\n"))
        .start();
    let out = client(&engine)
        .container()
        .from("alpine:3.20")
        .with_exec(vec!["echo", "hi"])
        .stdout()
        .await
        .unwrap();
    assert_eq!(out, "hi\n");
    assert_eq!(
        engine.raw_queries(),
        [r#"query{container{from(address:"alpine:3.20"){withExec(args:["echo","hi"]){stdout}}}}"#]
    );
    assert_eq!(engine.execs(), [vec!["echo", "hi"]]);
}

#[tokio::test]
async fn sdk_publish_resolves_object_arguments_by_id_and_gets_a_digested_reference() {
    let engine = FakeEngine::start();
    let dagger = client(&engine);
    let secret = dagger.set_secret("registry-password", "s3cr3t-pw");
    let opts = DirectoryDockerBuildOptsBuilder::default()
        .dockerfile("Dockerfile")
        .build_args(vec![BuildArg {
            name: "VERSION".to_owned(),
            value: "1.2.3 \"quoted\"\n".to_owned(),
        }])
        .build()
        .unwrap();
    let reference = dagger
        .host()
        .directory("containers/app")
        .docker_build_opts(opts)
        .with_registry_auth("127.0.0.1:5000", "ci", secret)
        .publish("127.0.0.1:5000/ops/app:v1.2.3-abc1234")
        .await
        .unwrap();
    let (address, digest) = reference.split_once('@').unwrap();
    assert_eq!(address, "127.0.0.1:5000/ops/app:v1.2.3-abc1234");
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{digest}"
    );

    let queries = engine.queries();
    let publish = queries.last().unwrap();
    assert_eq!(
        publish.names(),
        [
            "host",
            "directory",
            "dockerBuild",
            "withRegistryAuth",
            "publish"
        ]
    );
    assert_eq!(
        publish.field("dockerBuild").unwrap().arg("buildArgs"),
        Some(&serde_json::json!([{"name": "VERSION", "value": "1.2.3 \"quoted\"\n"}]))
    );
    let auth = publish.field("withRegistryAuth").unwrap();
    assert_eq!(auth.arg_str("username"), Some("ci"));
    let secret_chain = engine.resolve_id(auth.arg_str("secret").unwrap()).unwrap();
    assert_eq!(secret_chain.names(), ["setSecret"]);
    assert_eq!(
        secret_chain.arg_str("setSecret", "plaintext"),
        Some("s3cr3t-pw")
    );
    // The password travels only inside setSecret.
    let carrying: Vec<&Query> = queries
        .iter()
        .filter(|q| q.strings().contains(&"s3cr3t-pw"))
        .collect();
    assert_eq!(carrying.len(), 1);
    assert_eq!(carrying[0].names(), ["setSecret", "id"]);
}

#[tokio::test]
async fn sdk_parses_the_exec_error_extension() {
    let engine = FakeEngine::builder()
        .fail_exec(
            FailExec::on_arg("go", 2)
                .stdout("out")
                .stderr("undefined: x"),
        )
        .start();
    let err = client(&engine)
        .container()
        .from("golang:1.24")
        .with_exec(vec!["go", "build", "./..."])
        .sync()
        .await
        .map(|_| ())
        .unwrap_err();
    let DaggerError::Query(GraphQLError::DomainError { message, fields }) = err else {
        panic!("expected a domain error, got {err:?}");
    };
    assert!(
        message.starts_with(
            r#"process "go build ./..." did not complete successfully: exit code: 2 [traceparent:00-"#
        ),
        "{message}"
    );
    match &fields[0].extensions {
        Some(GraphQlExtension::ExecError {
            cmd,
            exit_code,
            stdout,
            stderr,
        }) => {
            assert_eq!(cmd, &["go", "build", "./..."]);
            assert_eq!(*exit_code, 2);
            assert_eq!(stdout, "out");
            assert_eq!(stderr, "undefined: x");
        }
        other => panic!("expected EXEC_ERROR, got {other:?}"),
    }
}

#[tokio::test]
async fn sdk_sync_continues_through_node_and_the_inline_fragment() {
    let engine = FakeEngine::start();
    let synced = client(&engine)
        .container()
        .from("alpine")
        .with_exec(vec!["make"])
        .sync()
        .await
        .unwrap();
    let out = synced.with_exec(vec!["ls"]).stdout().await.unwrap();
    assert_eq!(out, "");
    let last = engine.queries().pop().unwrap();
    assert_eq!(
        last.names(),
        ["node", "... on Container", "withExec", "stdout"]
    );
    assert_eq!(
        engine
            .resolve_id(last.arg_str("node", "id").unwrap())
            .unwrap()
            .names(),
        ["container", "from", "withExec"]
    );
    assert_eq!(engine.execs(), [vec!["make"], vec!["make"], vec!["ls"]]);
}

#[tokio::test]
async fn sdk_export_gets_the_path_and_the_file_is_there() {
    let engine = FakeEngine::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("image.tar");
    let path = path.to_str().unwrap();
    let dagger = client(&engine);
    let answered = dagger
        .container()
        .from("alpine")
        .export(path)
        .await
        .unwrap();
    assert_eq!(answered, path);
    assert_eq!(std::fs::read(path).unwrap(), EXPORTED_ARCHIVE);
}

#[tokio::test]
async fn sdk_reports_a_refused_publish_as_a_domain_error_without_extensions() {
    let engine = FakeEngine::builder().refuse_publish_unauthorized().start();
    let err = client(&engine)
        .container()
        .from("alpine")
        .publish("127.0.0.1:5000/ops/app:v1")
        .await
        .unwrap_err();
    let DaggerError::Query(GraphQLError::DomainError { message, fields }) = err else {
        panic!("expected a domain error, got {err:?}");
    };
    assert!(message.ends_with(": 401 Unauthorized"), "{message}");
    assert!(fields[0].extensions.is_none());
}

#[tokio::test]
async fn sdk_turns_broken_answers_into_http_errors() {
    let engine = FakeEngine::builder()
        .answer_raw("stdout", RawAnswer::NotJson("<html>".to_owned()))
        .answer_raw("sync", RawAnswer::Status(500, "engine died".to_owned()))
        .answer_raw("publish", RawAnswer::Hangup)
        .start();
    let base = client(&engine).container().from("alpine");
    let not_json = http_error(base.stdout().await.unwrap_err());
    assert!(
        not_json.contains("The response body is: <html>"),
        "{not_json}"
    );
    let status = http_error(base.sync().await.map(|_| ()).unwrap_err());
    assert!(
        status.contains("The response body is: engine died"),
        "{status}"
    );
    let hangup = http_error(base.publish("r/x:1").await.unwrap_err());
    assert!(hangup.contains("error sending request"), "{hangup}");
}

#[tokio::test]
async fn sdk_panics_on_data_null_without_errors() {
    let engine = FakeEngine::builder()
        .answer_raw("stdout", RawAnswer::NullData)
        .start();
    let container = client(&engine).container().from("alpine");
    // dagger-sdk 0.21.11 `Selection::execute` unwraps the missing data: a pipeline
    // must run the SDK where a panic can be caught (a spawned task).
    let joined = tokio::spawn(async move { container.stdout().await }).await;
    assert!(joined.unwrap_err().is_panic());
}

#[tokio::test]
async fn sdk_with_a_wrong_token_gets_the_unparseable_401() {
    let engine = FakeEngine::start();
    let dagger = client_with_token(&engine, "wrong");
    let message = http_error(dagger.container().id().await.unwrap_err());
    assert!(message.contains("Failed to parse response"), "{message}");
    assert!(engine.queries().is_empty());
}

const CHILD: &str = "TESTKIT_DAGGER_SDK_CHILD";

#[test]
fn connect_finds_the_engine_through_the_dagger_session_env() {
    if std::env::var_os(CHILD).is_some() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime
            .block_on(dagger_sdk::connect(|dagger| async move {
                let out = dagger.container().from("alpine").stdout().await?;
                assert_eq!(out, "");
                Ok(())
            }))
            .unwrap();
        return;
    }
    let engine = FakeEngine::start();
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "connect_finds_the_engine_through_the_dagger_session_env",
            "--nocapture",
        ])
        .envs(engine.env())
        .env(CHILD, "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        engine.raw_queries(),
        [r#"query{container{from(address:"alpine"){stdout}}}"#]
    );
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE,
            format!("{}:", engine.token())
        )
    );
    assert_eq!(engine.auth_headers(), [Some(basic)]);
}
