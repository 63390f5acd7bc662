//! Where images are in each kind of document: the Kubernetes pod spec (in Pods, workload
//! templates, CronJobs and the items of a `List`), ECS container definitions and Compose
//! services. Anything else is skipped; an image field that is there but unusable is an error.

use std::collections::HashSet;
use std::rc::Rc;

use super::yaml::{Node, Style};
use super::{reference, DeployError, Format, Occurrence};

/// Reads one document's images into `out` and says what the document is (`Deployment web`,
/// `empty`), for the message of a file without images.
pub(super) fn document(
    file: &str,
    number: usize,
    root: &Node,
    out: &mut Vec<Occurrence>,
) -> Result<String, DeployError> {
    let doc = Doc {
        file,
        number,
        kind: None,
        name: None,
        namespace: None,
        format: Format::Kubernetes,
    };
    doc.object(root, "", None, out)
}

/// The object being read, for occurrences and messages.
#[derive(Clone)]
struct Doc<'a> {
    file: &'a str,
    number: usize,
    kind: Option<String>,
    name: Option<String>,
    namespace: Option<String>,
    format: Format,
}

/// The pod spec of a Kubernetes kind: `spec` for a Pod, the job template's for a CronJob, and
/// `spec.template.spec` for every other kind that has one (Deployment, StatefulSet, custom).
fn pod_spec_path(kind: &str) -> &'static [&'static str] {
    match kind {
        "Pod" => &["spec"],
        "CronJob" => &["spec", "jobTemplate", "spec", "template", "spec"],
        _ => &["spec", "template", "spec"],
    }
}

impl Doc<'_> {
    /// One document, or one item of a `List` (`prefix` is then `items[3]`, and `list_kind` the
    /// list's, which names the items' kind when they leave it out, as the API's `PodList` does).
    fn object(
        &self,
        root: &Node,
        prefix: &str,
        list_kind: Option<&str>,
        out: &mut Vec<Occurrence>,
    ) -> Result<String, DeployError> {
        if !matches!(root, Node::Map(_)) {
            return Ok(match root {
                Node::Scalar(s) if s.style == Style::Plain && s.value.is_empty() => "empty",
                _ => root.describe(),
            }
            .to_string());
        }
        let kind = self
            .get_str(root, prefix, "kind")?
            .map(str::to_string)
            .or_else(|| list_kind.map(|k| k.trim_end_matches("List").to_string()))
            .filter(|k| !k.is_empty());
        if let Some(kind) = kind {
            return self.kubernetes(root, prefix, kind, out);
        }
        if self.get(root, prefix, "containerDefinitions")?.is_some() {
            return self.ecs(root, prefix, out);
        }
        if let Some(wrapped) = self.get(root, prefix, "taskDefinition")? {
            if self
                .get(
                    wrapped,
                    &join(prefix, "taskDefinition"),
                    "containerDefinitions",
                )?
                .is_some()
            {
                return self.ecs(wrapped, &join(prefix, "taskDefinition"), out);
            }
        }
        if let Some(services) = self.get(root, prefix, "services")? {
            if matches!(**services, Node::Map(_)) {
                return self.compose(root, services, prefix, out);
            }
        }
        Ok("a mapping with no kind".to_string())
    }

    fn kubernetes(
        &self,
        root: &Node,
        prefix: &str,
        kind: String,
        out: &mut Vec<Occurrence>,
    ) -> Result<String, DeployError> {
        let metadata_path = join(prefix, "metadata");
        let metadata = self.get(root, prefix, "metadata")?;
        let meta = |key| match metadata {
            Some(m) => self.get_str(m, &metadata_path, key),
            None => Ok(None),
        };
        let name = match meta("name")? {
            Some(name) => Some(name),
            None => meta("generateName")?,
        };
        let doc = Doc {
            kind: Some(kind.clone()),
            name: name.map(str::to_string),
            namespace: meta("namespace")?.map(str::to_string),
            format: Format::Kubernetes,
            ..self.clone()
        };
        let label = about(&kind, doc.name.as_deref());
        if kind == "List" || kind.ends_with("List") {
            if let Some(items) = doc.get(root, prefix, "items")? {
                let items_path = join(prefix, "items");
                let items = doc.list(items, &items_path)?;
                for (i, item) in items.iter().enumerate() {
                    // Each item is judged like a document of its own, under the list's number.
                    self.object(item, &format!("{items_path}[{i}]"), Some(&kind), out)?;
                }
                return Ok(format!("{label} of {} items", items.len()));
            }
        }
        let mut node = root;
        let mut path = prefix.to_string();
        for key in pod_spec_path(&kind) {
            match doc.get(node, &path, key)? {
                Some(next) if matches!(**next, Node::Map(_)) => node = next,
                // Not a pod spec (a ConfigMap, a custom kind of another shape): nothing to run.
                _ => return Ok(label),
            }
            path = join(&path, key);
        }
        for field in ["initContainers", "containers", "ephemeralContainers"] {
            doc.containers(node, &path, field, "name", out)?;
        }
        Ok(label)
    }

    fn ecs(
        &self,
        definition: &Node,
        prefix: &str,
        out: &mut Vec<Occurrence>,
    ) -> Result<String, DeployError> {
        let family = self.get_str(definition, prefix, "family")?;
        let doc = Doc {
            kind: Some("TaskDefinition".into()),
            name: family.map(str::to_string),
            namespace: None,
            format: Format::Ecs,
            ..self.clone()
        };
        doc.containers(definition, prefix, "containerDefinitions", "name", out)?;
        Ok(about("TaskDefinition", family))
    }

    fn compose(
        &self,
        root: &Node,
        services: &Node,
        prefix: &str,
        out: &mut Vec<Occurrence>,
    ) -> Result<String, DeployError> {
        let project = self.get_str(root, prefix, "name")?;
        let doc = Doc {
            kind: Some("Compose".into()),
            name: project.map(str::to_string),
            namespace: None,
            format: Format::Compose,
            ..self.clone()
        };
        let services_path = join(prefix, "services");
        let Node::Map(entries) = services else {
            unreachable!("checked by the caller")
        };
        let mut seen = HashSet::new();
        for (key, service) in entries {
            let Some(service_name) = key.as_str().filter(|k| *k != "<<") else {
                continue;
            };
            let path = join(&services_path, service_name);
            if !seen.insert(service_name) {
                return Err(doc.error(&path, "this service is defined twice".into()));
            }
            if let Some(image) = doc.get(service, &path, "image")? {
                doc.image(image, &join(&path, "image"), Some(service_name), out)?;
            }
        }
        Ok(about("Compose", project))
    }

    /// Each container of the list under `field`; one without `image` names nothing to run.
    fn containers(
        &self,
        holder: &Node,
        path: &str,
        field: &str,
        name_key: &str,
        out: &mut Vec<Occurrence>,
    ) -> Result<(), DeployError> {
        let Some(list) = self.get(holder, path, field)? else {
            return Ok(());
        };
        let list_path = join(path, field);
        for (i, container) in self.list(list, &list_path)?.iter().enumerate() {
            let path = format!("{list_path}[{i}]");
            if !matches!(**container, Node::Map(_)) {
                let message = format!("is {}, not a container", container.describe());
                return Err(self.error(&path, message));
            }
            let name = self.get_str(container, &path, name_key)?;
            if let Some(image) = self.get(container, &path, "image")? {
                self.image(image, &join(&path, "image"), name, out)?;
            }
        }
        Ok(())
    }

    /// A list's items; null (`containers:` with nothing after it) is an empty list.
    fn list<'n>(&self, node: &'n Node, path: &str) -> Result<&'n [Rc<Node>], DeployError> {
        match node {
            Node::Seq(items) => Ok(items),
            Node::Scalar(s) if s.style == Style::Plain && s.value.is_empty() => Ok(&[]),
            other => Err(self.error(path, format!("is {}, not a list", other.describe()))),
        }
    }

    fn image(
        &self,
        node: &Node,
        path: &str,
        container: Option<&str>,
        out: &mut Vec<Occurrence>,
    ) -> Result<(), DeployError> {
        let Node::Scalar(scalar) = node else {
            let message = format!("is {}, not an image reference", node.describe());
            return Err(self.error(path, message));
        };
        if scalar.style == Style::Block {
            let message = "is a block scalar (`|` or `>`): write the image on one line, so it \
                           can be pinned in place";
            return Err(self.error(path, message.into()));
        }
        if !scalar.is_string() {
            let message = match node.describe() {
                "null" => "has no value".to_string(),
                what => format!(
                    "`{}` is {what}, not an image reference",
                    shown(&scalar.value)
                ),
            };
            return Err(self.error(path, message));
        }
        let image = match reference::parse(&scalar.value) {
            Ok(image) => image,
            Err(why) => {
                let message = format!(
                    "`{}` is not an image reference: {why}",
                    shown(&scalar.value)
                );
                return Err(self.error(path, message));
            }
        };
        let Some(span) = scalar.span.clone() else {
            let message = "the value's text could not be located in the file, so it could not \
                           be pinned (please report this with the file)";
            return Err(self.error(path, message.into()));
        };
        out.push(Occurrence {
            document: self.number,
            kind: self.kind.clone().unwrap_or_default(),
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            container: container.map(str::to_string),
            path: path.to_string(),
            value: scalar.value.clone(),
            reference: image,
            span,
            format: self.format,
            style: scalar.style,
        });
        Ok(())
    }

    fn get<'n>(
        &self,
        node: &'n Node,
        path: &str,
        key: &str,
    ) -> Result<Option<&'n Rc<Node>>, DeployError> {
        node.get(key).map_err(|_| {
            let message = format!("`{key}` is given more than once in this mapping");
            self.error(&join(path, key), message)
        })
    }

    /// A string field; any other value counts as absent, since it only names things.
    fn get_str<'n>(
        &self,
        node: &'n Node,
        path: &str,
        key: &str,
    ) -> Result<Option<&'n str>, DeployError> {
        Ok(self.get(node, path, key)?.and_then(|n| n.as_str()))
    }

    fn error(&self, path: &str, message: String) -> DeployError {
        DeployError::Value {
            file: self.file.to_string(),
            document: self.number,
            object: self
                .kind
                .as_deref()
                .map(|kind| about(kind, self.name.as_deref())),
            path: path.to_string(),
            message,
        }
    }
}

fn about(kind: &str, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("{kind} {name}"),
        None => kind.to_string(),
    }
}

/// `a.b`, or `a["odd key"]` for a key a reader could not tell from the dots.
fn join(path: &str, key: &str) -> String {
    let simple = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (path.is_empty(), simple) {
        (true, true) => key.to_string(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{key:?}]"),
    }
}

/// A value in a message: control characters escaped, and cut short if long, so a hostile file
/// cannot fill the terminal.
fn shown(value: &str) -> String {
    const MAX: usize = 120;
    let mut out: String = value
        .chars()
        .take(MAX)
        .flat_map(|c| {
            let escaped: Vec<char> = match c.is_control() {
                true => c.escape_default().collect(),
                false => vec![c],
            };
            escaped
        })
        .collect();
    if value.chars().count() > MAX {
        out.push('…');
    }
    out
}
