//! The parser on every value kind the SDK sends, and the engine's answers over HTTP.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use serde_json::{Value, json};

use super::*;

fn parse(text: &str) -> Query {
    Query::parse(text).unwrap_or_else(|err| panic!("{text}: {err}"))
}

fn auth(token: &str) -> String {
    format!("Basic {}", URL_SAFE.encode(format!("{token}:")))
}

/// Posts a query as the SDK does; (status, body text).
fn post_as(engine: &FakeEngine, authorization: Option<&str>, body: &Value) -> (u16, String) {
    let mut request = reqwest::blocking::Client::new()
        .post(engine.url())
        .header("Content-Type", "application/json")
        .body(body.to_string());
    if let Some(authorization) = authorization {
        request = request.header("Authorization", authorization);
    }
    let response = request.send().expect("engine answers");
    let status = response.status().as_u16();
    (status, response.text().expect("body"))
}

/// Posts `query` with the engine's token; the JSON answer (status 200 asserted).
fn ask(engine: &FakeEngine, query: &str) -> Value {
    let (status, body) = post_as(
        engine,
        Some(&auth(engine.token())),
        &json!({"query": query, "variables": null}),
    );
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("JSON answer")
}

/// Asks for an `id` and returns it.
fn id_of(engine: &FakeEngine, query: &str) -> String {
    let answer = ask(engine, query);
    let mut data = &answer["data"];
    while let Value::Object(map) = data {
        data = map.values().next().expect("one key per level");
    }
    data.as_str().expect("an id string").to_owned()
}

// ---- parser ----

#[test]
fn parser_reads_the_sdks_chain_one_field_per_level() {
    let query = parse(
        r#"query{container{from(address:"alpine:3.20"){withExec(args:["echo","hi"]){stdout}}}}"#,
    );
    assert_eq!(query.names(), ["container", "from", "withExec", "stdout"]);
    assert_eq!(query.arg_str("from", "address"), Some("alpine:3.20"));
    assert_eq!(
        query.field("withExec").unwrap().arg_strs("args"),
        ["echo", "hi"]
    );
    assert_eq!(query.leaf(), "stdout");
    assert_eq!(query.execs(), [vec!["echo".to_owned(), "hi".to_owned()]]);
}

#[test]
fn parser_reads_every_value_kind() {
    let query = parse(
        r#"query{a(s:"x", i:42, n:-3, f:1.5, e:2e3, t:true, fa:false, z:null, en:LINUX_AMD64,
        l:[1,"two",[]], o:{name:"V",value:"1",nested:{k:[true]}}){b}}"#,
    );
    let args = &query.chain[0].args;
    assert_eq!(
        Value::Object(args.clone().into_iter().collect()),
        json!({
            "s": "x", "i": 42, "n": -3, "f": 1.5, "e": 2000.0, "t": true, "fa": false,
            "z": null, "en": "LINUX_AMD64", "l": [1, "two", []],
            "o": {"name": "V", "value": "1", "nested": {"k": [true]}},
        })
    );
}

#[test]
fn parser_reads_input_object_lists_as_docker_build_args_are_sent() {
    let query = parse(
        r#"query{host{directory(path:"containers/app"){dockerBuild(buildArgs:[{name:"VERSION",value:"1.2.3"}], dockerfile:"Dockerfile"){id}}}}"#,
    );
    let build = query.field("dockerBuild").unwrap();
    assert_eq!(
        build.arg("buildArgs"),
        Some(&json!([{"name": "VERSION", "value": "1.2.3"}]))
    );
    assert_eq!(build.arg_str("dockerfile"), Some("Dockerfile"));
}

#[test]
fn parser_unescapes_every_string_escape() {
    let query = parse(r#"query{a(s:"q\"b\\s\/n\nt\tr\rb\bf\fu\u00e9 \ud83d\ude00"){b}}"#);
    assert_eq!(
        query.arg_str("a", "s"),
        Some("q\"b\\s/n\nt\tr\rb\u{8}f\u{c}u\u{e9} \u{1F600}")
    );
}

#[test]
fn parser_keeps_an_inline_fragment_as_a_field_without_arguments() {
    let query = parse(r#"query{node(id:"x"){... on Container{withExec(args:["ls"]){stdout}}}}"#);
    assert_eq!(
        query.names(),
        ["node", "... on Container", "withExec", "stdout"]
    );
    assert_eq!(query.chain[1].fragment(), Some("Container"));
    assert!(query.chain[1].args.is_empty());
    assert_eq!(query.chain[0].fragment(), None);
}

#[test]
fn parser_keeps_aliases() {
    let query = parse(r#"query{container{out:stdout}}"#);
    assert_eq!(query.chain[1].name, "stdout");
    assert_eq!(query.chain[1].alias.as_deref(), Some("out"));
    assert_eq!(query.chain[1].key(), "out");
}

#[test]
fn parser_skips_whitespace_commas_comments_and_operation_names() {
    let query = parse(
        "# a comment\nquery Build {\n  container ,{ from ( address : \"a\" , ) { id } }\n}\n",
    );
    assert_eq!(query.names(), ["container", "from", "id"]);
    assert_eq!(parse("{container{id}}").names(), ["container", "id"]);
}

#[test]
fn parser_rejects_what_the_fake_cannot_answer() {
    for (text, message) in [
        ("query{a{b} c{d}}", "a second selection"),
        (
            "query($v: String){a(x:$v){b}}",
            "variables are not supported",
        ),
        ("query{a(x:$v){b}}", "variables are not supported"),
        ("query{a(s:\"open){b}}", "unterminated string"),
        (r#"query{a(s:"\q"){b}}"#, "unknown escape"),
        (r#"query{a(s:"\u12"){b}}"#, "four hex digits"),
        (r#"query{a(s:"""block"""){b}}"#, "block strings"),
        ("query{a(x:1,x:2){b}}", "given twice"),
        ("mutation{a{b}}", "expected `query`"),
        ("query{a{b}} trailing", "unexpected text"),
        ("query{a{b}", "expected `}`, found the end"),
    ] {
        let err = Query::parse(text).expect_err(text);
        assert!(err.message.contains(message), "{text}: {err}");
    }
    assert_eq!(Query::parse("query{a{b} c}").unwrap_err().offset, 11);
}

#[test]
fn display_is_canonical_with_arguments_sorted() {
    let a = parse(r#"query{container{withDirectory(path:"/src", source:"fake-id-1"){x:stdout}}}"#);
    let b = parse(r#"query{container{withDirectory(source:"fake-id-1", path:"/src"){x:stdout}}}"#);
    assert_eq!(a.to_string(), b.to_string());
    assert_eq!(
        a.to_string(),
        r#"container.withDirectory(path: "/src", source: "fake-id-1").x: stdout"#
    );
}

#[test]
fn strings_finds_values_inside_lists_and_objects() {
    let query = parse(r#"query{a(l:["x",{k:"y"}], n:1){b(s:"z")}}"#);
    assert_eq!(query.strings(), ["x", "y", "z"]);
}

// ---- answers ----

#[test]
fn answers_nested_along_the_selection_path() {
    let engine = FakeEngine::start();
    let answer = ask(
        &engine,
        r#"query{container{from(address:"alpine:3.20"){withExec(args:["echo","hi"]){stdout}}}}"#,
    );
    assert_eq!(
        answer,
        json!({"data": {"container": {"from": {"withExec": {"stdout": ""}}}}})
    );
}

#[test]
fn answers_under_aliases_and_skips_fragment_levels() {
    let engine = FakeEngine::start();
    let id = id_of(&engine, r#"query{container{id}}"#);
    let answer = ask(
        &engine,
        &format!(r#"query{{node(id:"{id}"){{... on Container{{code:exitCode}}}}}}"#),
    );
    assert_eq!(answer, json!({"data": {"node": {"code": 0}}}));
}

#[test]
fn leaves_have_default_answers() {
    let engine = FakeEngine::start();
    let leaf = |name: &str| {
        let answer = ask(
            &engine,
            &format!(r#"query{{container{{from(address:"a"){{{name}}}}}}}"#),
        );
        answer["data"]["container"]["from"][name].clone()
    };
    assert_eq!(leaf("stdout"), json!(""));
    assert_eq!(leaf("stderr"), json!(""));
    assert_eq!(leaf("exitCode"), json!(0));
    assert_eq!(leaf("platform"), Value::Null);
    let digest = leaf("digest");
    let digest = digest.as_str().unwrap();
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{digest}"
    );
    assert_eq!(leaf("digest").as_str(), Some(digest), "deterministic");
}

#[test]
fn a_configured_answer_replaces_the_default() {
    let engine = FakeEngine::builder()
        .answer("stdout", json!("v1.2.3\n"))
        .start();
    let answer = ask(
        &engine,
        r#"query{container{withExec(args:["git","describe"]){stdout}}}"#,
    );
    assert_eq!(
        answer["data"]["container"]["withExec"]["stdout"],
        "v1.2.3\n"
    );
    assert_eq!(
        engine.execs(),
        [vec!["git".to_owned(), "describe".to_owned()]]
    );
}

#[test]
fn ids_are_fresh_and_resolve_to_the_chain_that_made_them() {
    let engine = FakeEngine::start();
    let secret = id_of(
        &engine,
        r#"query{setSecret(name:"pw", plaintext:"s3cret"){id}}"#,
    );
    let dir = id_of(&engine, r#"query{host{directory(path:"."){id}}}"#);
    assert_eq!(secret, "fake-id-1");
    assert_eq!(dir, "fake-id-2");
    let resolved = engine.resolve_id(&secret).unwrap();
    assert_eq!(resolved.names(), ["setSecret"]);
    assert_eq!(resolved.arg_str("setSecret", "plaintext"), Some("s3cret"));
    assert_eq!(
        engine.resolve_id(&dir).unwrap().to_string(),
        r#"host.directory(path: ".")"#
    );
    assert_eq!(
        id_of(&engine, r#"query{host{directory(path:"."){id}}}"#),
        "fake-id-3"
    );
    assert!(engine.resolve_id("fake-id-4").is_none());
    assert!(engine.resolve_id("other").is_none());
}

#[test]
fn an_id_the_engine_never_issued_is_an_error() {
    let engine = FakeEngine::start();
    let answer = ask(
        &engine,
        r#"query{container{withDirectory(path:"/src", source:"fake-id-7"){id}}}"#,
    );
    assert_eq!(answer["data"], Value::Null);
    let message = answer["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("fake-id-7"), "{message}");
    assert_eq!(
        answer["errors"][0]["path"],
        json!(["container", "withDirectory", "id"])
    );
}

#[test]
fn asking_for_an_id_evaluates_nothing() {
    let engine = FakeEngine::start();
    id_of(
        &engine,
        r#"query{container{from(address:"a"){withExec(args:["make"]){id}}}}"#,
    );
    assert!(engine.execs().is_empty());
}

#[test]
fn any_other_leaf_evaluates_the_chain_and_the_chains_its_ids_stand_for() {
    let engine = FakeEngine::start();
    let built = id_of(
        &engine,
        r#"query{container{withExec(args:["go","build"]){directory(path:"/out"){id}}}}"#,
    );
    ask(
        &engine,
        &format!(
            r#"query{{container{{withExec(args:["apk","add"]){{withDirectory(path:"/app", source:"{built}"){{withExec(args:["true"]){{sync}}}}}}}}}}"#
        ),
    );
    assert_eq!(
        engine.execs(),
        [vec!["apk", "add"], vec!["go", "build"], vec!["true"]]
    );
}

#[test]
fn sync_evaluates_and_its_id_continues_through_node() {
    let engine = FakeEngine::start();
    let synced = id_of(&engine, r#"query{container{withExec(args:["a"]){sync}}}"#);
    assert_eq!(engine.execs(), [vec!["a"]]);
    assert_eq!(
        engine.resolve_id(&synced).unwrap().names(),
        ["container", "withExec"]
    );
    ask(
        &engine,
        &format!(
            r#"query{{node(id:"{synced}"){{... on Container{{withExec(args:["b"]){{stdout}}}}}}}}"#
        ),
    );
    assert_eq!(engine.execs(), [vec!["a"], vec!["a"], vec!["b"]]);
}

#[test]
fn a_failing_exec_answers_the_engines_exec_error() {
    let engine = FakeEngine::builder()
        .fail_exec(
            FailExec::on_arg("go", 2)
                .stdout("partial")
                .stderr("main.go:3: undefined: x"),
        )
        .start();
    let answer = ask(
        &engine,
        r#"query{container{from(address:"golang:1.24"){withExec(args:["go","build","./..."]){withExec(args:["ls"]){stdout}}}}}"#,
    );
    assert_eq!(answer["data"], Value::Null);
    let error = &answer["errors"][0];
    let message = error["message"].as_str().unwrap();
    let (head, trace) = message.split_once(" [traceparent:00-").expect(message);
    assert_eq!(
        head,
        r#"process "go build ./..." did not complete successfully: exit code: 2"#
    );
    let parts: Vec<&str> = trace.trim_end_matches(']').split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [32, 16, 2],
        "{trace}"
    );
    assert_eq!(parts[2], "01");
    assert_eq!(error["locations"], json!([{"line": 1, "column": 105}]));
    assert_eq!(
        error["path"],
        json!(["container", "from", "withExec", "withExec", "stdout"])
    );
    assert_eq!(
        error["extensions"],
        json!({
            "_type": "EXEC_ERROR", "cmd": ["go", "build", "./..."], "exitCode": 2,
            "stdout": "partial", "stderr": "main.go:3: undefined: x",
        })
    );
    assert_eq!(
        engine.execs(),
        [vec!["go", "build", "./..."]],
        "stops at the failure"
    );
}

#[test]
fn a_failing_exec_behind_an_id_fails_the_chain_that_uses_it() {
    let engine = FakeEngine::builder()
        .fail_exec(FailExec::on_arg("npm", 1))
        .start();
    let ui = id_of(
        &engine,
        r#"query{container{withExec(args:["npm","ci"]){directory(path:"dist"){id}}}}"#,
    );
    let answer = ask(
        &engine,
        &format!(
            r#"query{{container{{withDirectory(path:"/ui", source:"{ui}"){{publish(address:"r/x:1")}}}}}}"#
        ),
    );
    assert_eq!(
        answer["errors"][0]["extensions"]["cmd"],
        json!(["npm", "ci"])
    );
    assert_eq!(
        answer["errors"][0]["path"],
        json!(["container", "withDirectory", "publish"])
    );
}

#[test]
fn fail_exec_matches_whole_args_or_text_inside_one() {
    let engine = FakeEngine::builder()
        .fail_exec(FailExec::on_arg("go", 2))
        .fail_exec(FailExec::on_text("nix-build", 100))
        .start();
    let exit = |args: &str| {
        let answer = ask(
            &engine,
            &format!(r#"query{{container{{withExec(args:{args}){{sync}}}}}}"#),
        );
        answer["errors"][0]["extensions"]["exitCode"].clone()
    };
    assert_eq!(
        exit(r#"["cargo","build"]"#),
        Value::Null,
        "`go` is not `cargo`"
    );
    assert_eq!(exit(r#"["go","vet"]"#), json!(2));
    assert_eq!(
        exit(r#"["sh","-c","nix-build default.nix && cp -L result /out"]"#),
        json!(100)
    );
}

#[test]
fn publish_answers_the_reference_with_a_digest() {
    let engine = FakeEngine::start();
    let answer = ask(
        &engine,
        r#"query{container{from(address:"a"){publish(address:"127.0.0.1:5000/ops/app:v1-abc")}}}"#,
    );
    let reference = answer["data"]["container"]["from"]["publish"]
        .as_str()
        .unwrap();
    let (address, digest) = reference.split_once('@').unwrap();
    assert_eq!(address, "127.0.0.1:5000/ops/app:v1-abc");
    assert_eq!(digest, crate::registry::digest(address.as_bytes()));
}

#[test]
fn a_refused_publish_is_a_plain_error_naming_the_address() {
    let engine = FakeEngine::builder()
        .refuse_publish("denied: {address}")
        .start();
    let answer = ask(&engine, r#"query{container{publish(address:"r/x:1")}}"#);
    assert_eq!(
        answer,
        json!({"data": null, "errors": [{
            "message": "denied: r/x:1",
            "locations": [{"line": 1, "column": 17}],
            "path": ["container", "publish"],
        }]})
    );
}

#[test]
fn refuse_publish_unauthorized_words_it_as_buildkit_does() {
    let engine = FakeEngine::builder().refuse_publish_unauthorized().start();
    let answer = ask(
        &engine,
        r#"query{container{publish(address:"127.0.0.1:5000/ops/app:v1")}}"#,
    );
    let message = answer["errors"][0]["message"].as_str().unwrap();
    let expected = format!(
        "failed to export: failed to push 127.0.0.1:5000/ops/app:v1: unexpected status from HEAD \
         request to http://127.0.0.1:5000/v2/ops/app/blobs/{}: 401 Unauthorized",
        crate::registry::digest(b"127.0.0.1:5000/ops/app:v1")
    );
    assert_eq!(message, expected);
    assert!(answer["errors"][0].get("extensions").is_none());
}

#[test]
fn export_writes_a_placeholder_at_the_host_path_by_object_type() {
    let engine = FakeEngine::start();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let image = path("image.tar");
    let answer = ask(
        &engine,
        &format!(r#"query{{container{{from(address:"a"){{export(path:"{image}")}}}}}}"#),
    );
    assert_eq!(
        answer["data"]["container"]["from"]["export"],
        image.as_str()
    );
    assert_eq!(std::fs::read(&image).unwrap(), EXPORTED_ARCHIVE);

    let file = path("result.tar.gz");
    ask(
        &engine,
        &format!(r#"query{{container{{file(path:"/out/r"){{export(path:"{file}")}}}}}}"#),
    );
    assert_eq!(std::fs::read(&file).unwrap(), EXPORTED_FILE);

    let out = path("out");
    ask(
        &engine,
        &format!(
            r#"query{{host{{directory(path:"."){{withNewFile(path:"x", contents:""){{export(path:"{out}")}}}}}}}}"#
        ),
    );
    assert!(std::path::Path::new(&out).is_dir());
}

#[test]
fn an_export_that_cannot_be_written_is_an_error() {
    let engine = FakeEngine::start();
    let answer = ask(
        &engine,
        r#"query{container{export(path:"/nonexistent-dir/x/image.tar")}}"#,
    );
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("failed to export")
    );
}

#[test]
fn raw_answers_break_only_their_leaf() {
    let engine = FakeEngine::builder()
        .answer_raw("publish", RawAnswer::NullData)
        .answer_raw("stdout", RawAnswer::NotJson("<html>".to_owned()))
        .answer_raw("sync", RawAnswer::Status(500, "engine died".to_owned()))
        .start();
    let token = auth(engine.token());
    let send = |q: &str| post_as(&engine, Some(&token), &json!({"query": q}));
    assert_eq!(
        send("query{container{publish(address:\"x\")}}"),
        (200, r#"{"data":null}"#.to_owned())
    );
    assert_eq!(send("query{container{stdout}}"), (200, "<html>".to_owned()));
    assert_eq!(
        send("query{container{sync}}"),
        (500, "engine died".to_owned())
    );
    assert_eq!(
        send("query{container{id}}"),
        (
            200,
            r#"{"data":{"container":{"id":"fake-id-1"}}}"#.to_owned()
        )
    );
}

#[test]
fn a_hangup_closes_the_connection_without_an_answer() {
    let engine = FakeEngine::builder()
        .answer_raw("stdout", RawAnswer::Hangup)
        .start();
    let result = reqwest::blocking::Client::new()
        .post(engine.url())
        .header("Authorization", auth(engine.token()))
        .body(json!({"query": "query{container{stdout}}"}).to_string())
        .send()
        .and_then(|r| r.text());
    assert!(result.is_err(), "{result:?}");
    assert_eq!(engine.queries().len(), 1);
}

#[test]
fn a_missing_or_wrong_token_is_refused_as_the_session_server_does() {
    let engine = FakeEngine::builder().token("~~~").start();
    let body = json!({"query": "query{container{id}}"});
    for authorization in [None, Some(auth("wrong")), Some("Bearer ~~~".to_owned())] {
        let mut request = reqwest::blocking::Client::new()
            .post(engine.url())
            .body(body.to_string());
        if let Some(a) = &authorization {
            request = request.header("Authorization", a);
        }
        let response = request.send().unwrap();
        assert_eq!(response.status(), 401, "{authorization:?}");
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Basic realm="Access to the Dagger engine session""#
        );
        assert_eq!(response.text().unwrap(), "");
    }
    assert!(engine.queries().is_empty());
    assert_eq!(
        engine.raw_queries().len(),
        3,
        "refused requests are recorded too"
    );
}

#[test]
fn the_token_is_accepted_in_url_safe_and_standard_base64() {
    let engine = FakeEngine::builder().token("~~~").start();
    let url_safe = format!("Basic {}", URL_SAFE.encode("~~~:"));
    let standard = format!("Basic {}", STANDARD.encode("~~~:"));
    assert_ne!(
        url_safe, standard,
        "the token's base64 differs between alphabets"
    );
    for authorization in [&url_safe, &standard] {
        let (status, _) = post_as(
            &engine,
            Some(authorization),
            &json!({"query": "query{container{id}}"}),
        );
        assert_eq!(status, 200, "{authorization}");
    }
    assert_eq!(engine.auth_headers(), [Some(url_safe), Some(standard)]);
}

#[test]
fn variables_may_be_absent_null_or_empty() {
    let engine = FakeEngine::start();
    let token = auth(engine.token());
    for body in [
        json!({"query": "query{container{id}}"}),
        json!({"query": "query{container{id}}", "variables": null}),
        json!({"query": "query{container{id}}", "variables": {}}),
    ] {
        assert_eq!(post_as(&engine, Some(&token), &body).0, 200, "{body}");
    }
}

#[test]
fn a_query_that_does_not_parse_is_gqlgens_422() {
    let engine = FakeEngine::start();
    let (status, body) = post_as(
        &engine,
        Some(&auth(engine.token())),
        &json!({"query": "query{a{b} c{d}}"}),
    );
    assert_eq!(status, 422);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "GRAPHQL_PARSE_FAILED"
    );
    assert_eq!(body["data"], Value::Null);
    let (status, _) = post_as(
        &engine,
        Some(&auth(engine.token())),
        &json!({"no": "query"}),
    );
    assert_eq!(status, 400);
}

#[test]
fn requests_are_recorded_in_order() {
    let engine = FakeEngine::start();
    let first = r#"query{setSecret(name:"pw", plaintext:"s3cret"){id}}"#;
    let second = r#"query{container{withRegistryAuth(address:"r", username:"u", secret:"fake-id-1"){publish(address:"r/x:1")}}}"#;
    ask(&engine, first);
    ask(&engine, second);
    assert_eq!(engine.raw_queries(), [first, second]);
    let queries = engine.queries();
    assert_eq!(queries.len(), 2);
    assert_eq!(
        queries[1].arg_str("withRegistryAuth", "secret"),
        Some("fake-id-1")
    );
    let with_secret: Vec<&Query> = queries
        .iter()
        .filter(|q| q.strings().contains(&"s3cret"))
        .collect();
    assert_eq!(with_secret.len(), 1);
    assert_eq!(with_secret[0].names(), ["setSecret", "id"]);
}

#[test]
fn env_names_the_port_and_token_as_dagger_run_does() {
    let engine = FakeEngine::builder().token("t0k").start();
    assert_eq!(
        engine.env(),
        [
            ("DAGGER_SESSION_PORT", engine.port().to_string()),
            ("DAGGER_SESSION_TOKEN", "t0k".to_owned()),
        ]
    );
    assert_eq!(
        engine.url(),
        format!("http://127.0.0.1:{}/query", engine.port())
    );
}
