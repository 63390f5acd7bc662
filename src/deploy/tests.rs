//! Reading and pinning whole files: each input kind, the pinned copy compared byte for byte,
//! and the messages of bad input. The fixtures under `fixtures/deploy/` are read here too, so
//! the integration tests that use them start from files known to read as described.

use super::*;

const ECR: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn ok(label: &str, text: &str) -> DeployFile {
    read(label, text.to_string()).unwrap_or_else(|e| panic!("{e}"))
}

fn err(label: &str, text: &str) -> String {
    read(label, text.to_string())
        .err()
        .unwrap_or_else(|| panic!("{label} read without error"))
        .to_string()
}

/// `(path, value)` of each occurrence.
fn found(file: &DeployFile) -> Vec<(&str, &str)> {
    file.occurrences
        .iter()
        .map(|o| (o.path.as_str(), o.value.as_str()))
        .collect()
}

/// Every ECR image pinned to `DIGEST` in its format's form.
fn pin_all(file: &DeployFile) -> String {
    let pins: Vec<(usize, String)> = file
        .occurrences
        .iter()
        .enumerate()
        .filter_map(|(i, o)| {
            let image = reference::parse(&o.value).unwrap();
            image.is_ecr().then(|| (i, image.pinned(DIGEST, o.format)))
        })
        .collect();
    file.pinned(&pins).unwrap()
}

const HELM: &str = "\
---
# Source: shop/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: shop-config
data:
  image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app/not-deployed:1
---
# Source: shop/templates/hpa.yaml
---
# Source: shop/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations: {note: \"Grüße ☕ — naïve\"}
spec:
  template:
    spec:
      initContainers:
        - name: migrate
          image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app/migrate:1.4.2 # comment
      containers:
        - name: web
          image: \"123456789012.dkr.ecr.us-east-1.amazonaws.com/app/web:1.4.2\"
        - name: sidecar
          image: 'docker.io/library/busybox:1.36'
---
# Source: shop/templates/cronjob.yaml
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: job
              image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/app/worker:2.0.1'
";

/// `HELM` as it should come out pinned, written out in full.
const HELM_PINNED: &str = "\
---
# Source: shop/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: shop-config
data:
  image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app/not-deployed:1
---
# Source: shop/templates/hpa.yaml
---
# Source: shop/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations: {note: \"Grüße ☕ — naïve\"}
spec:
  template:
    spec:
      initContainers:
        - name: migrate
          image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app/migrate:1.4.2@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef # comment
      containers:
        - name: web
          image: \"123456789012.dkr.ecr.us-east-1.amazonaws.com/app/web:1.4.2@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"
        - name: sidecar
          image: 'docker.io/library/busybox:1.36'
---
# Source: shop/templates/cronjob.yaml
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: job
              image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/app/worker:2.0.1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'
";

#[test]
fn helm_output_reads_every_container_and_skips_the_rest() {
    let file = ok("deploy.yaml", HELM);
    assert_eq!(
        found(&file),
        [
            (
                "spec.template.spec.initContainers[0].image",
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/app/migrate:1.4.2"
            ),
            (
                "spec.template.spec.containers[0].image",
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/app/web:1.4.2"
            ),
            (
                "spec.template.spec.containers[1].image",
                "docker.io/library/busybox:1.36"
            ),
            (
                "spec.jobTemplate.spec.template.spec.containers[0].image",
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/app/worker:2.0.1"
            ),
        ]
    );
    let first = &file.occurrences[0];
    assert_eq!(
        (first.document, first.kind.as_str(), first.name.as_deref()),
        (3, "Deployment", Some("web"))
    );
    assert_eq!(first.container.as_deref(), Some("migrate"));
    assert_eq!(first.format, Format::Kubernetes);
    let cron = &file.occurrences[3];
    assert_eq!(
        (cron.document, cron.kind.as_str(), cron.name.as_deref()),
        (4, "CronJob", Some("nightly"))
    );
    for o in &file.occurrences {
        assert_eq!(&HELM[o.span.clone()], o.value, "{}", o.path);
    }
}

#[test]
fn helm_output_pins_byte_for_byte() {
    assert_eq!(pin_all(&ok("deploy.yaml", HELM)), HELM_PINNED);
}

#[test]
fn crlf_files_keep_their_line_endings_when_pinned() {
    let crlf = HELM.replace('\n', "\r\n");
    let file = ok("deploy.yaml", &crlf);
    assert_eq!(file.occurrences.len(), 4);
    assert_eq!(pin_all(&file), HELM_PINNED.replace('\n', "\r\n"));
}

#[test]
fn no_pins_give_back_the_input_unchanged() {
    let file = ok("deploy.yaml", HELM);
    assert_eq!(file.pinned(&[]).unwrap(), HELM);
}

#[test]
fn spans_are_bytes_after_non_ascii_text() {
    let text = "# Überprüfung — ☕😀\nkind: Pod\nmetadata: {name: \"pöd\"}\nspec:\n  containers:\n  - name: ü\n    image: 'x/ü'\n  - name: b\n    image: nginx:1\n";
    let err = err("pod.yaml", text);
    assert!(err.contains("`x/ü` is not an image reference"), "{err}");
    let text = text.replace("x/ü", "busybox");
    let file = ok("pod.yaml", &text);
    for o in &file.occurrences {
        assert_eq!(&text[o.span.clone()], o.value);
    }
    let pinned = file.pinned(&[(1, format!("nginx:1@{DIGEST}"))]).unwrap();
    assert_eq!(
        pinned,
        text.replace("nginx:1", &format!("nginx:1@{DIGEST}"))
    );
}

#[test]
fn flow_style_yaml_is_read_and_pinned_in_place() {
    let text = "kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: app/x:1}, {image: \"app/y:2\", name: b}]}\n";
    let file = ok("pod.yaml", text);
    assert_eq!(
        found(&file),
        [
            ("spec.containers[0].image", "app/x:1"),
            ("spec.containers[1].image", "app/y:2")
        ]
    );
    let pinned = file
        .pinned(&[
            (0, format!("{ECR}/app/x:1@{DIGEST}")),
            (1, format!("{ECR}/app/y@{DIGEST}")),
        ])
        .unwrap();
    let expected = format!(
        "kind: Pod\nmetadata: {{name: p}}\nspec: {{containers: [{{name: a, image: {ECR}/app/x:1@{DIGEST}}}, {{image: \"{ECR}/app/y@{DIGEST}\", name: b}}]}}\n"
    );
    assert_eq!(pinned, expected);
}

const KUBECTL_LIST: &str = r#"{
    "apiVersion": "v1",
    "items": [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "web-1", "namespace": "shop", "annotations": {"emoji": "\ud83d\ude00 \u00e9"}},
            "spec": {
                "containers": [{"name": "web", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com\/app\/web:1.4.2"}],
                "initContainers": [{"name": "init", "image": "busybox:1.36"}]
            },
            "status": {"containerStatuses": [{"image": "not-read", "imageID": "not-read"}]}
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "debug-me", "namespace": "kube-system"},
            "spec": {
                "containers": [{"name": "app", "image": "registry.k8s.io/pause:3.9"}],
                "ephemeralContainers": [{"name": "dbg", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app/debug:1.0.0"}]
            }
        },
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"}, "spec": {}}
    ],
    "kind": "List",
    "metadata": {"resourceVersion": ""}
}
"#;

#[test]
fn a_kubectl_list_is_read_item_by_item_with_json_escapes() {
    let file = ok("pods.json", KUBECTL_LIST);
    assert_eq!(
        found(&file),
        [
            ("items[0].spec.initContainers[0].image", "busybox:1.36"),
            (
                "items[0].spec.containers[0].image",
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/app/web:1.4.2"
            ),
            (
                "items[1].spec.containers[0].image",
                "registry.k8s.io/pause:3.9"
            ),
            (
                "items[1].spec.ephemeralContainers[0].image",
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/app/debug:1.0.0"
            ),
        ]
    );
    let web = &file.occurrences[1];
    assert_eq!(
        (web.document, web.kind.as_str(), web.name.as_deref()),
        (1, "Pod", Some("web-1"))
    );
    assert_eq!(web.namespace.as_deref(), Some("shop"));
    // The span covers the escapes as written; a plain reference replaces them.
    assert_eq!(
        &KUBECTL_LIST[web.span.clone()],
        r"123456789012.dkr.ecr.us-east-1.amazonaws.com\/app\/web:1.4.2"
    );
    let pinned = pin_all(&file);
    let expected = KUBECTL_LIST
        .replace(
            r"123456789012.dkr.ecr.us-east-1.amazonaws.com\/app\/web:1.4.2",
            &format!("{ECR}/app/web:1.4.2@{DIGEST}"),
        )
        .replace(
            &format!("{ECR}/app/debug:1.0.0"),
            &format!("{ECR}/app/debug:1.0.0@{DIGEST}"),
        );
    assert_eq!(pinned, expected);
    serde_json::from_str::<serde_json::Value>(&pinned).expect("still JSON");
}

#[test]
fn items_of_a_typed_list_without_kind_take_the_lists() {
    let text = r#"{"kind": "PodList", "apiVersion": "v1", "items": [
        {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}]}"#;
    let file = ok("pods.json", text);
    assert_eq!(file.occurrences[0].kind, "Pod");
    assert_eq!(
        file.occurrences[0].path,
        "items[0].spec.containers[0].image"
    );
}

#[test]
fn workload_kinds_and_custom_kinds_with_a_pod_template() {
    let text = "\
kind: DaemonSet
metadata: {name: d}
spec: {template: {spec: {containers: [{name: c, image: a/daemon}]}}}
---
kind: Rollout
apiVersion: argoproj.io/v1alpha1
metadata: {name: r}
spec: {template: {spec: {containers: [{name: c, image: a/rollout}]}}}
---
kind: Job
metadata: {generateName: job-}
spec: {template: {spec: {containers: [{name: c, image: a/job}]}}}
---
kind: Widget
spec: {template: \"not a pod\"}
---
kind: Pod
metadata: {name: p}
spec:
  containers:
";
    let file = ok("k.yaml", text);
    let got: Vec<_> = file
        .occurrences
        .iter()
        .map(|o| {
            (
                o.document,
                o.kind.as_str(),
                o.name.as_deref(),
                o.value.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (1, "DaemonSet", Some("d"), "a/daemon"),
            (2, "Rollout", Some("r"), "a/rollout"),
            (3, "Job", Some("job-"), "a/job"),
        ]
    );
}

const ECS: &str = r#"{
    "family": "shop-web",
    "containerDefinitions": [
        {"name": "web", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app/web:1.4.2", "essential": true},
        {"name": "router", "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"}
    ],
    "requiresCompatibilities": ["FARGATE"]
}
"#;

#[test]
fn ecs_task_definitions_bare_and_wrapped_pin_without_the_tag() {
    let wrapped = format!("{{\"taskDefinition\": {}, \"tags\": []}}\n", ECS.trim_end());
    for (text, prefix) in [(ECS.to_string(), ""), (wrapped, "taskDefinition.")] {
        let file = ok("task.json", &text);
        let web = &file.occurrences[0];
        assert_eq!(web.path, format!("{prefix}containerDefinitions[0].image"));
        assert_eq!(
            (
                web.kind.as_str(),
                web.name.as_deref(),
                web.container.as_deref()
            ),
            ("TaskDefinition", Some("shop-web"), Some("web"))
        );
        assert_eq!(web.format, Format::Ecs);
        assert_eq!(file.occurrences[1].container.as_deref(), Some("router"));
        let expected = text.replace(
            &format!("{ECR}/app/web:1.4.2"),
            &format!("{ECR}/app/web@{DIGEST}"),
        );
        assert_eq!(pin_all(&file), expected);
    }
}

const COMPOSE: &str = "\
# compose
name: shop
x-worker: &worker
  image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app/worker:2.0.1
  restart: always
services:
  web:
    image: \"123456789012.dkr.ecr.us-east-1.amazonaws.com/app/web:1.4.2\"   # the site
  worker:
    <<: *worker
  scheduler:
    <<: *worker
    command: [schedule]
  redis:
    image: redis:7.2-alpine
  docs:
    build: ./docs
";

#[test]
fn compose_services_including_merged_ones_share_the_anchor_when_pinned() {
    let file = ok("compose.yaml", COMPOSE);
    assert_eq!(
        found(&file),
        [
            (
                "services.web.image",
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/app/web:1.4.2"
            ),
            (
                "services.worker.image",
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/app/worker:2.0.1"
            ),
            (
                "services.scheduler.image",
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/app/worker:2.0.1"
            ),
            ("services.redis.image", "redis:7.2-alpine"),
        ]
    );
    let worker = &file.occurrences[1];
    assert_eq!(
        (
            worker.kind.as_str(),
            worker.name.as_deref(),
            worker.container.as_deref()
        ),
        ("Compose", Some("shop"), Some("worker"))
    );
    assert_eq!(worker.span, file.occurrences[2].span);
    let expected = COMPOSE
        .replace(
            &format!("{ECR}/app/web:1.4.2"),
            &format!("{ECR}/app/web:1.4.2@{DIGEST}"),
        )
        .replace(
            &format!("{ECR}/app/worker:2.0.1"),
            &format!("{ECR}/app/worker:2.0.1@{DIGEST}"),
        );
    assert_eq!(pin_all(&file), expected);
}

#[test]
fn pins_that_disagree_or_need_quoting_are_refused() {
    let file = ok("compose.yaml", COMPOSE);
    let conflict = file
        .pinned(&[(1, format!("a/w@{DIGEST}")), (2, format!("a/x@{DIGEST}"))])
        .unwrap_err();
    assert!(
        matches!(&conflict, PinError::Conflict { path, .. } if path == "services.scheduler.image"),
        "{conflict}"
    );
    assert!(matches!(
        file.pinned(&[(9, "x".into())]),
        Err(PinError::NoSuchOccurrence { index: 9, .. })
    ));
    for bad in ["a b", "[::1]:5000/x", "x'\"", "Nginx"] {
        let e = file.pinned(&[(0, bad.into())]).unwrap_err();
        assert!(matches!(e, PinError::Unsafe { .. }), "{bad}: {e}");
    }
    // Unquoted, `5` would be read back as a number.
    let e = file.pinned(&[(3, "5".into())]).unwrap_err();
    assert!(
        e.to_string().contains("something other than a string"),
        "{e}"
    );
    assert!(
        file.pinned(&[(0, "5".into())]).is_ok(),
        "quoted, it stays a string"
    );
}

#[test]
fn anything_without_images_is_skipped_and_then_named() {
    let text = "# only comments\n---\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {image: nginx}\n---\nkind: Service\nmetadata: {name: web}\n---\n---\n[1, 2]\n";
    let file = ok("deploy.yaml", text);
    assert!(file.occurrences.is_empty());
    assert_eq!(
        file.require_images().unwrap_err().to_string(),
        "no image found in deploy.yaml: its documents (ConfigMap cfg, Service web, empty, a \
         list) have no Kubernetes pod spec, ECS container definition or Compose service image"
    );
    let comments = ok("c.yaml", "# nothing here\n");
    assert_eq!(
        comments.require_images().unwrap_err().to_string(),
        "no image found in c.yaml: it holds no YAML or JSON document"
    );
    assert!(ok("deploy.yaml", HELM).require_images().is_ok());
}

#[test]
fn an_invalid_reference_names_file_document_object_and_path() {
    let text = "kind: ServiceAccount\n---\n---\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      initContainers:\n      - image: 'Nginx:ÿ'\n";
    assert_eq!(
        err("deploy.yaml", text),
        "deploy.yaml: document 3 (Deployment web): spec.template.spec.initContainers[0].image: \
         `Nginx:ÿ` is not an image reference: `ÿ` is not a valid tag (up to 128 letters, \
         digits, `_`, `.`, `-`, not starting with `.` or `-`)"
    );
}

#[test]
fn image_values_that_are_not_one_line_strings_are_errors() {
    let pod = |image: &str| {
        format!("kind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - name: c\n    image: {image}\n")
    };
    for (image, why) in [
        ("5", "`5` is a number, not an image reference"),
        ("true", "`true` is a boolean"),
        ("", "has no value"),
        ("~", "has no value"),
        ("{repo: x}", "is a mapping, not an image reference"),
        ("[x]", "is a list"),
        ("|\n      nginx", "is a block scalar"),
        ("!!int 5", "a tagged value"),
        ("\"${REGISTRY}/web:${TAG}\"", "unexpanded variable"),
    ] {
        let e = err("pod.yaml", &pod(image));
        assert!(
            e.starts_with("pod.yaml: document 1 (Pod p): spec.containers[0].image: "),
            "{e}"
        );
        assert!(e.contains(why), "{image:?}: {e}");
    }
    assert!(ok("pod.yaml", &pod("!!str nginx")).occurrences.len() == 1);
    let no_image = ok("pod.yaml", "kind: Pod\nspec:\n  containers:\n  - name: c\n");
    assert!(no_image.occurrences.is_empty());
}

#[test]
fn shapes_that_hide_images_are_errors_not_skips() {
    let cases = [
        (
            "kind: Pod\nspec:\n  containers: {name: c, image: x}\n",
            "spec.containers: is a mapping, not a list",
        ),
        (
            "kind: Pod\nspec:\n  containers: [nginx]\n",
            "spec.containers[0]: is a string, not a container",
        ),
        (
            "kind: Pod\nspec:\n  containers:\n  - name: c\n    image: a/x\n    image: a/y\n",
            "spec.containers[0].image: `image` is given more than once",
        ),
        (
            "services:\n  web: {image: a/x}\n  web: {image: a/y}\n",
            "services.web: this service is defined twice",
        ),
        (
            "{\"containerDefinitions\": 5}",
            "containerDefinitions: is a number, not a list",
        ),
    ];
    for (text, want) in cases {
        let e = err("f.yaml", text);
        assert!(e.contains(want), "{text:?}: {e}");
    }
}

#[test]
fn parse_errors_give_file_line_and_column() {
    let text = "kind: Pod\nspec:\n  containers:\n  - name: c\n    image: x\n   bad: indent\n";
    let e = err("deploy.yaml", text);
    assert!(e.starts_with("deploy.yaml:6:"), "{e}");
    assert!(e.contains(": invalid YAML: "), "{e}");
    let e = err("pods.json", "{\n  \"kind\": \"Pod\",\n  \"spec\": [\n}\n");
    assert!(e.starts_with("pods.json:4:"), "{e}");
    assert!(e.contains(": invalid JSON: "), "{e}");
}

#[test]
fn json_surrogate_pairs_do_not_move_spans() {
    let text = r#"{"kind": "Pod", "metadata": {"name": "\ud83d\ude00", "x": "\\ud800"}, "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}"#;
    let file = ok("p.json", text);
    let o = &file.occurrences[0];
    assert_eq!(&text[o.span.clone()], "nginx:1");
    assert_eq!(o.name.as_deref(), Some("\u{fffd}\u{fffd}"));
    assert_eq!(mask_surrogates(r#""\\ud800""#), r#""\\ud800""#);
}

#[test]
fn read_path_names_missing_and_non_utf8_files() {
    let e = read_path("/nonexistent/deploy.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("/nonexistent/deploy.yaml: cannot read: "),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.yaml");
    std::fs::write(&path, b"kind: Pod\nname: caf\xe9\n").unwrap();
    let label = path.to_str().unwrap();
    let e = read_path(label).unwrap_err().to_string();
    assert_eq!(e, format!("{label}: not UTF-8 text (at byte 19)"));
}

/// Each fixture, read: its images as `(path, repository:tag)`, ECR registry trimmed.
fn fixture(name: &str) -> (DeployFile, Vec<(String, String)>) {
    let path = format!("{}/fixtures/deploy/{name}", env!("CARGO_MANIFEST_DIR"));
    let file = read_path(&path).unwrap_or_else(|e| panic!("{e}"));
    let images = file
        .occurrences
        .iter()
        .map(|o| {
            let short = o.value.strip_prefix(&format!("{ECR}/")).unwrap_or(&o.value);
            (o.path.clone(), short.to_string())
        })
        .collect();
    (file, images)
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn fixture_helm_template() {
    let (file, images) = fixture("helm-template.yaml");
    assert_eq!(
        images,
        pairs(&[
            (
                "spec.template.spec.initContainers[0].image",
                "app/migrate:1.4.2"
            ),
            ("spec.template.spec.containers[0].image", "app/web:1.4.2"),
            (
                "spec.template.spec.containers[1].image",
                "docker.io/library/busybox:1.36"
            ),
            (
                "spec.jobTemplate.spec.template.spec.containers[0].image",
                "app/worker:2.0.1"
            ),
            (
                "spec.template.spec.initContainers[0].image",
                "app/migrate:1.4.2"
            ),
            ("spec.template.spec.containers[0].image", "app/cache:7.2.4"),
        ])
    );
    let docs: Vec<_> = file
        .occurrences
        .iter()
        .map(|o| (o.document, o.kind.as_str()))
        .collect();
    assert_eq!(
        docs,
        [
            (5, "Deployment"),
            (5, "Deployment"),
            (5, "Deployment"),
            (6, "CronJob"),
            (7, "StatefulSet"),
            (7, "StatefulSet")
        ]
    );
    let pinned = pin_all(&file);
    assert_eq!(pinned.matches(DIGEST).count(), 5);
    assert_eq!(pinned.replace(&format!("@{DIGEST}"), ""), file.text);
}

#[test]
fn fixture_kubectl_pods() {
    let (file, images) = fixture("kubectl-pods.json");
    assert_eq!(
        images,
        pairs(&[
            ("items[0].spec.initContainers[0].image", "app/migrate:1.4.2"),
            ("items[0].spec.containers[0].image", "app/web:1.4.2"),
            (
                "items[0].spec.containers[1].image",
                "docker.io/library/busybox:1.36"
            ),
            ("items[1].spec.initContainers[0].image", "app/migrate:1.4.2"),
            ("items[1].spec.containers[0].image", "app/web:1.4.2"),
            (
                "items[1].spec.containers[1].image",
                "docker.io/library/busybox:1.36"
            ),
            ("items[2].spec.containers[0].image", "app/worker:2.0.1"),
            (
                "items[2].spec.ephemeralContainers[0].image",
                "app/debug:1.0.0"
            ),
            (
                "items[3].spec.containers[0].image",
                "registry.k8s.io/coredns/coredns:v1.11.1"
            ),
            ("items[4].spec.containers[0].image", "payments/api:3.2.0"),
        ])
    );
    let namespaces: Vec<_> = file
        .occurrences
        .iter()
        .filter_map(|o| o.namespace.as_deref())
        .collect();
    assert_eq!(
        namespaces,
        [
            "shop",
            "shop",
            "shop",
            "shop",
            "shop",
            "shop",
            "shop",
            "shop",
            "kube-system",
            "payments"
        ]
    );
    let pinned = pin_all(&file);
    assert_eq!(pinned.replace(&format!("@{DIGEST}"), ""), file.text);
}

#[test]
fn fixture_ecs_task_definition() {
    let (file, images) = fixture("ecs-task-definition.json");
    assert_eq!(
        images,
        pairs(&[
            (
                "taskDefinition.containerDefinitions[0].image",
                "app/web:1.4.2"
            ),
            (
                "taskDefinition.containerDefinitions[1].image",
                "app/migrate:1.4.2"
            ),
            (
                "taskDefinition.containerDefinitions[2].image",
                "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"
            ),
        ])
    );
    assert_eq!(file.occurrences[0].name.as_deref(), Some("shop-web"));
    let pinned = pin_all(&file);
    assert!(pinned.contains(&format!("\"{ECR}/app/web@{DIGEST}\"")));
}

#[test]
fn fixture_compose() {
    let (_, images) = fixture("compose.yaml");
    assert_eq!(
        images,
        pairs(&[
            ("services.web.image", "app/web:1.4.2"),
            ("services.worker.image", "app/worker:2.0.1"),
            ("services.scheduler.image", "app/worker:2.0.1"),
            ("services.redis.image", "redis:7.2-alpine"),
        ])
    );
}

#[test]
fn fixtures_bad() {
    let dir = format!("{}/fixtures/deploy/bad", env!("CARGO_MANIFEST_DIR"));
    let message = |name: &str| {
        let path = format!("{dir}/{name}");
        let result = read_path(&path).and_then(|f| f.require_images());
        result
            .unwrap_err()
            .to_string()
            .replace(&format!("{dir}/"), "")
    };
    let parse = message("parse-error.yaml");
    assert!(
        parse.starts_with("parse-error.yaml:13:10: invalid YAML: "),
        "{parse}"
    );
    assert_eq!(
        message("invalid-ref.yaml"),
        "invalid-ref.yaml: document 2 (Deployment shop-web): \
         spec.template.spec.initContainers[0].image: \
         `123456789012.dkr.ecr.us-east-1.amazonaws.com/App/Migrate:1.4.2` is not an image \
         reference: `App` is not a valid repository path component (lowercase letters and \
         digits, separated by `.`, `_`, `__` or dashes)"
    );
    assert_eq!(
        message("no-images.yaml"),
        "no image found in no-images.yaml: its documents (ConfigMap shop-config, Service \
         shop-web) have no Kubernetes pod spec, ECS container definition or Compose service \
         image"
    );
}
