// Validates the Kubernetes manifests of the admission webhook (deploy/kubernetes/) with schemas
// written elsewhere, then checks the contract DESIGN.md ("Admission: `ecr-scan-gate serve`")
// and deploy/kubernetes/README.md promise.
//
// usage: node tests/tools/validate-manifests.mjs [--node-modules DIR] [--dir DIR] [--policy-out FILE]
//
//   --node-modules  where kubernetes-models, @kubernetes-models/cert-manager and yaml are
//                   installed (default: $ECR_SCAN_GATE_TOOLS_DIR/npm/node_modules, else
//                   .tools/npm/node_modules; scripts/install-tools.sh puts them there)
//   --dir           the manifests (default: deploy/kubernetes)
//   --policy-out    also write the policy.toml of ConfigMap ecr-scan-gate-policy to FILE, so
//                   the real policy parser can read it
//
// 1. Every YAML document in every *.yaml / *.yml file under --dir is parsed as Kubernetes does
//    (YAML 1.1: `0440` is octal; a duplicate key is an error) and validated against the
//    OpenAPI schema of its apiVersion and kind: kubernetes-models for the Kubernetes API
//    (core, apps, policy, admissionregistration.k8s.io, …), @kubernetes-models/cert-manager
//    for cert-manager.io. A kind neither package knows is an error. These schemas, like
//    Kubernetes' own OpenAPI, do not reject unknown fields (the API server's strict field
//    validation does); the contract checks below name every field they rely on, so a
//    misspelled one of those fails there.
// 2. kustomization.yaml is not an API object: it must list every manifest file exactly once,
//    the Namespace's file first and the webhook's last.
// 3. iam-policy.json must be an IAM policy document granting exactly the actions the gate needs.
// 4. The contract: replicas, security context, probes, the webhook's failure policy, timeouts,
//    excluded namespaces, rules, and that the objects refer to each other correctly.
//
// Prints `ok KIND NAME` for each object that passed, and exits 1 after printing
// `FAIL FILE: KIND NAME: ERROR` for each problem.

import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

function parseArgs(argv) {
  const toolsDir = process.env.ECR_SCAN_GATE_TOOLS_DIR || path.join(root, ".tools");
  const options = {
    nodeModules: path.join(toolsDir, "npm", "node_modules"),
    dir: path.join(root, "deploy", "kubernetes"),
    policyOut: null,
  };
  const names = { "--node-modules": "nodeModules", "--dir": "dir", "--policy-out": "policyOut" };
  for (let i = 0; i < argv.length; i += 1) {
    const key = names[argv[i]];
    if (!key || i + 1 >= argv.length) {
      console.error(`usage: validate-manifests.mjs [--node-modules DIR] [--dir DIR] [--policy-out FILE] (at ${argv[i]})`);
      process.exit(2);
    }
    options[key] = path.resolve(argv[i + 1]);
    i += 1;
  }
  return options;
}

const options = parseArgs(process.argv.slice(2));

// The packages live in .tools/npm/node_modules, not next to this script. ESM `import` of a bare
// name resolves from the importing file's folder and ignores NODE_PATH, so they are loaded
// through a require rooted in that node_modules (all three ship CommonJS builds next to ESM).
const requireTool = createRequire(path.join(path.dirname(options.nodeModules), "package.json"));
function load(name) {
  try {
    return requireTool(name);
  } catch (error) {
    console.error(
      `cannot load ${name} from ${options.nodeModules}: ${error.message.split("\n")[0]}\n` +
        "run scripts/install-tools.sh",
    );
    process.exit(2);
  }
}
const YAML = load("yaml");

const failures = [];

function label(obj) {
  const kind = (obj && typeof obj === "object" && obj.kind) || "?";
  const name = (obj && obj.metadata && obj.metadata.name) || "?";
  return `${kind} ${name}`;
}

const failedLabels = new Set();

// FAIL FILE: KIND NAME: MESSAGE (FAIL FILE: MESSAGE for a problem of the file as a whole).
function fail(file, obj, message) {
  const where = path.relative(process.cwd(), file) || file;
  if (obj) failedLabels.add(label(obj));
  failures.push(obj ? `FAIL ${where}: ${label(obj)}: ${message}` : `FAIL ${where}: ${message}`);
}

// --- 1. Parse and validate every document against its schema ---------------------------------

// The module of kubernetes-models (or the cert-manager package) that defines an apiVersion.
function modelModule(apiVersion) {
  const parts = apiVersion.split("/");
  if (parts.length === 1) return `kubernetes-models/${apiVersion}`; // core: v1
  const [group, version] = parts;
  if (group === "cert-manager.io" || group.endsWith(".cert-manager.io")) {
    return `@kubernetes-models/cert-manager/${group}/${version}`;
  }
  return `kubernetes-models/${group}/${version}`;
}

// The model class for apiVersion + kind, or a reason there is none.
function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    return { error: "apiVersion and kind must be strings" };
  }
  let module;
  try {
    module = requireTool(modelModule(apiVersion));
  } catch {
    return { error: `unknown apiVersion ${apiVersion} (no schema in kubernetes-models or @kubernetes-models/cert-manager)` };
  }
  const model = module[kind];
  if (typeof model !== "function" || model.kind !== kind || model.apiVersion !== apiVersion) {
    return { error: `unknown kind ${kind} in ${apiVersion}` };
  }
  return { model };
}

function yamlFiles(dir) {
  const found = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...yamlFiles(full));
    else if (/\.ya?ml$/.test(entry.name)) found.push(full);
  }
  return found.sort();
}

const objects = []; // { file, obj }
let kustomization = null; // { file, obj }
const manifestFiles = [];

for (const file of yamlFiles(options.dir)) {
  const text = fs.readFileSync(file, "utf8");
  const docs = YAML.parseAllDocuments(text, { version: "1.1", prettyErrors: true });
  const isKustomization = path.basename(file) === "kustomization.yaml";
  if (!isKustomization) manifestFiles.push(file);
  let documents = 0;
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      for (const error of doc.errors) fail(file, null, `YAML: ${error.message}`);
      documents += 1;
      continue;
    }
    const obj = doc.toJS();
    if (obj === null || obj === undefined) continue; // an empty document (a trailing ---)
    documents += 1;
    if (typeof obj !== "object" || Array.isArray(obj)) {
      fail(file, null, "a document is not a mapping");
      continue;
    }
    if (isKustomization) {
      kustomization = { file, obj };
      continue;
    }
    if (!obj.metadata || typeof obj.metadata.name !== "string" || obj.metadata.name === "") {
      fail(file, obj, "metadata.name is missing");
      continue;
    }
    const { model, error } = modelFor(obj.apiVersion, obj.kind);
    if (error) {
      fail(file, obj, error);
      continue;
    }
    try {
      new model(obj).validate();
    } catch (e) {
      fail(file, obj, `schema: ${e.message}`);
      continue;
    }

    objects.push({ file, obj });
  }
  if (documents === 0) fail(file, null, "no YAML document in the file");
}

// --- 2. The kustomization lists every manifest, in apply order --------------------------------

function checkKustomization() {
  if (!kustomization) {
    fail(path.join(options.dir, "kustomization.yaml"), null, "kustomization.yaml is missing");
    return;
  }
  const { file } = kustomization;
  // Named by its file in messages: a Kustomization has no metadata.name.
  const obj = { ...kustomization.obj, metadata: { name: path.basename(file) } };
  if (obj.apiVersion !== "kustomize.config.k8s.io/v1beta1" || obj.kind !== "Kustomization") {
    fail(file, obj, "must be apiVersion kustomize.config.k8s.io/v1beta1, kind Kustomization");
  }
  const listed = Array.isArray(obj.resources) ? obj.resources : [];
  if (!Array.isArray(obj.resources)) fail(file, obj, "resources must be a list");
  const base = path.dirname(file);
  const present = manifestFiles.map((f) => path.relative(base, f).split(path.sep).join("/"));
  for (const entry of listed) {
    if (!present.includes(entry)) fail(file, obj, `lists ${entry}, which is not a manifest file here`);
  }
  for (const entry of present) {
    const count = listed.filter((l) => l === entry).length;
    if (count !== 1) fail(file, obj, `must list ${entry} exactly once (listed ${count} times)`);
  }
  const fileOf = (kind) => objects.find((o) => o.obj.kind === kind)?.file;
  const first = fileOf("Namespace");
  const last = fileOf("ValidatingWebhookConfiguration");
  if (first && listed[0] !== path.relative(base, first)) {
    fail(file, obj, `the Namespace's file (${path.relative(base, first)}) must come first`);
  }
  if (last && listed[listed.length - 1] !== path.relative(base, last)) {
    fail(file, obj, `the webhook's file (${path.relative(base, last)}) must come last`);
  }
  console.log(`checked kustomization.yaml (${listed.length} resources)`);
}

// --- 3. The IAM policy ------------------------------------------------------------------------

const IAM_ACTIONS = [
  "ecr:DescribeImages",
  "ecr:DescribeImageScanFindings",
  "ecr:BatchGetImage",
  "ecr:GetRegistryScanningConfiguration",
];

function checkIamPolicy() {
  const file = path.join(options.dir, "iam-policy.json");
  const obj = { kind: "IAMPolicy", metadata: { name: "iam-policy.json" } };
  let policy;
  try {
    policy = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    fail(file, obj, `not readable JSON: ${e.message}`);
    return;
  }
  if (policy === null || typeof policy !== "object" || Array.isArray(policy)) {
    fail(file, obj, "must be a JSON object");
    return;
  }
  for (const key of Object.keys(policy)) {
    if (!["Version", "Id", "Statement"].includes(key)) fail(file, obj, `unknown top-level key ${key}`);
  }
  if (policy.Version !== "2012-10-17") fail(file, obj, `Version must be "2012-10-17", not ${JSON.stringify(policy.Version)}`);
  if (!Array.isArray(policy.Statement) || policy.Statement.length === 0) {
    fail(file, obj, "Statement must be a non-empty array");
    return;
  }
  const granted = new Set();
  policy.Statement.forEach((statement, i) => {
    const where = `Statement[${i}]`;
    if (statement === null || typeof statement !== "object" || Array.isArray(statement)) {
      fail(file, obj, `${where} must be an object`);
      return;
    }
    for (const key of Object.keys(statement)) {
      if (!["Sid", "Effect", "Action", "Resource", "Condition"].includes(key)) {
        fail(file, obj, `${where} has ${key}: only Sid, Effect, Action, Resource and Condition belong in a least-privilege grant`);
      }
    }
    if (statement.Effect !== "Allow") fail(file, obj, `${where}.Effect must be "Allow"`);
    const list = (value) => (typeof value === "string" ? [value] : value);
    const actions = list(statement.Action);
    const resources = list(statement.Resource);
    if (!Array.isArray(actions) || actions.length === 0 || !actions.every((a) => typeof a === "string")) {
      fail(file, obj, `${where}.Action must be a string or a non-empty array of strings`);
    } else {
      for (const action of actions) {
        if (action.includes("*")) fail(file, obj, `${where} grants the wildcard ${action}`);
        granted.add(action);
      }
    }
    if (!Array.isArray(resources) || resources.length === 0 || !resources.every((r) => typeof r === "string")) {
      fail(file, obj, `${where}.Resource must be a string or a non-empty array of strings`);
    }
    if (Array.isArray(actions) && actions.includes("ecr:GetRegistryScanningConfiguration") && !isDeepStrictEqual(resources, ["*"])) {
      fail(file, obj, `${where}: ecr:GetRegistryScanningConfiguration is a registry-level action; its Resource must be "*"`);
    }
  });
  for (const action of IAM_ACTIONS) {
    if (!granted.has(action)) fail(file, obj, `does not grant ${action}`);
  }
  for (const action of granted) {
    if (!IAM_ACTIONS.includes(action)) fail(file, obj, `grants ${action}, which the webhook does not need`);
  }
  console.log(`checked iam-policy.json (${granted.size} actions)`);
}

// --- 4. The contract --------------------------------------------------------------------------

const NAMESPACE = "ecr-scan-gate";

function find(kind, name, namespace) {
  return objects.find(
    (o) => o.obj.kind === kind && o.obj.metadata.name === name && (namespace === undefined || o.obj.metadata.namespace === namespace),
  );
}

function require1(kind, name, namespace) {
  const found = find(kind, name, namespace);
  // An object its schema rejected has its error already; it is not reported missing as well.
  if (!found && !failedLabels.has(`${kind} ${name}`)) {
    const where = namespace ? ` in namespace ${namespace}` : "";
    failures.push(`FAIL ${path.relative(process.cwd(), options.dir)}: ${kind} ${name}: missing${where}`);
  }
  return found;
}

function selects(selector, labels) {
  if (!selector || !selector.matchLabels || Object.keys(selector.matchLabels).length === 0) return false;
  if (selector.matchExpressions && selector.matchExpressions.length > 0) return false; // not used here
  return Object.entries(selector.matchLabels).every(([k, v]) => labels && labels[k] === v);
}

// Go durations as cert-manager and the gate write them: 2160h, 5m, 8s, 1h30m.
function seconds(duration) {
  if (typeof duration !== "string" || !/^(\d+(\.\d+)?(h|m|s|ms))+$/.test(duration)) return NaN;
  const unit = { h: 3600, m: 60, s: 1, ms: 0.001 };
  let total = 0;
  for (const [, number, , u] of duration.matchAll(/(\d+(\.\d+)?)(ms|h|m|s)/g)) total += Number(number) * unit[u];
  return total;
}

// `serve` flags from args: --flag value or --flag=value; repeated flags keep every value.
function flags(args) {
  const out = new Map();
  for (let i = 1; i < args.length; i += 1) {
    const arg = args[i];
    if (!arg.startsWith("--")) continue;
    const eq = arg.indexOf("=");
    const [name, value] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, args[i + 1]];
    if (eq < 0 && value !== undefined && !value.startsWith("--")) i += 1;
    out.set(name, [...(out.get(name) || []), value]);
  }
  return out;
}

function checkContract() {
  const ns = require1("Namespace", NAMESPACE);
  if (ns && ns.obj.metadata.labels?.["kubernetes.io/metadata.name"] !== NAMESPACE) {
    fail(ns.file, ns.obj, `must carry the label kubernetes.io/metadata.name: ${NAMESPACE} (the webhook's namespaceSelector excludes it by that label)`);
  }

  const sa = require1("ServiceAccount", "ecr-scan-gate", NAMESPACE);
  const roleArn = sa?.obj.metadata.annotations?.["eks.amazonaws.com/role-arn"];
  if (sa && !/^arn:aws[a-z-]*:iam::\d{12}:role\/\S+$/.test(roleArn || "")) {
    fail(sa.file, sa.obj, `needs the IRSA annotation eks.amazonaws.com/role-arn with a role ARN (found ${JSON.stringify(roleArn)})`);
  }

  const policy = require1("ConfigMap", "ecr-scan-gate-policy", NAMESPACE);
  const policyText = policy?.obj.data?.["policy.toml"];
  if (policy && (typeof policyText !== "string" || policyText.trim() === "")) {
    fail(policy.file, policy.obj, "data must have a non-empty policy.toml");
  } else if (policy && options.policyOut) {
    fs.writeFileSync(options.policyOut, policyText);
  }

  // The serving certificate and the chain of issuers behind it.
  const cert = require1("Certificate", "ecr-scan-gate", NAMESPACE);
  const service = require1("Service", "ecr-scan-gate", NAMESPACE);
  if (cert) {
    const spec = cert.obj.spec;
    const { file, obj } = cert;
    if (spec.secretName !== "ecr-scan-gate-tls") fail(file, obj, `secretName must be ecr-scan-gate-tls, not ${spec.secretName}`);
    const names = [`ecr-scan-gate.${NAMESPACE}.svc`, `ecr-scan-gate.${NAMESPACE}.svc.cluster.local`];
    for (const name of names) {
      if (!(spec.dnsNames || []).includes(name)) fail(file, obj, `dnsNames must include ${name} (the Service)`);
    }
    const duration = seconds(spec.duration);
    const renewBefore = seconds(spec.renewBefore);
    if (!(duration > 0)) fail(file, obj, `duration must be set (found ${JSON.stringify(spec.duration)})`);
    if (!(renewBefore > 0 && renewBefore < duration)) {
      fail(file, obj, `renewBefore must be set and shorter than duration (found ${JSON.stringify(spec.renewBefore)})`);
    }
    if (spec.privateKey?.rotationPolicy !== "Always") fail(file, obj, "privateKey.rotationPolicy must be Always");
    const issuer = spec.issuerRef?.kind === "Issuer" && find("Issuer", spec.issuerRef.name, NAMESPACE);
    if (!issuer) {
      fail(file, obj, `issuerRef must name an Issuer defined here (found ${JSON.stringify(spec.issuerRef)})`);
    } else {
      const caSecret = issuer.obj.spec.ca?.secretName;
      const ca = objects.find((o) => o.obj.kind === "Certificate" && o.obj.spec.secretName === caSecret && o.obj.metadata.namespace === NAMESPACE);
      if (!ca) {
        fail(issuer.file, issuer.obj, `must be a CA Issuer whose secret comes from a Certificate defined here (ca.secretName ${JSON.stringify(caSecret)})`);
      } else {
        if (ca.obj.spec.isCA !== true) fail(ca.file, ca.obj, "the CA certificate must have isCA: true");
        const root = ca.obj.spec.issuerRef?.kind === "Issuer" && find("Issuer", ca.obj.spec.issuerRef.name, NAMESPACE);
        if (!root || !root.obj.spec.selfSigned) fail(ca.file, ca.obj, "must be issued by a selfSigned Issuer defined here");
      }
    }
  }

  // The Deployment.
  const deployment = require1("Deployment", "ecr-scan-gate", NAMESPACE);
  let podLabels = null;
  let listenPort = 8443;
  let decisionTimeout = 8;
  if (deployment) {
    const { file, obj } = deployment;
    const spec = obj.spec;
    const pod = spec.template.spec || {};
    podLabels = spec.template.metadata?.labels || {};
    const check = (ok, message) => ok || fail(file, obj, message);
    check(spec.replicas === 2, `replicas must be 2 (found ${JSON.stringify(spec.replicas)})`);
    check(selects(spec.selector, podLabels), "selector.matchLabels must match the pod template's labels");
    const spreads = (pod.topologySpreadConstraints || []).some(
      (c) => c.topologyKey === "kubernetes.io/hostname" && c.maxSkew >= 1 && selects(c.labelSelector, podLabels),
    );
    const antiAffinity = [
      ...(pod.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution || []),
      ...(pod.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution || []).map((p) => p.podAffinityTerm),
    ].some((t) => t && t.topologyKey === "kubernetes.io/hostname" && selects(t.labelSelector, podLabels));
    check(spreads || antiAffinity, "replicas must be spread across nodes (topologySpreadConstraints or podAntiAffinity on kubernetes.io/hostname)");
    check(pod.serviceAccountName === "ecr-scan-gate" && !!sa, "serviceAccountName must be the ecr-scan-gate ServiceAccount defined here");
    check(pod.terminationGracePeriodSeconds === 30, `terminationGracePeriodSeconds must be 30 (found ${pod.terminationGracePeriodSeconds})`);
    check(pod.hostNetwork !== true && pod.hostPID !== true && pod.hostIPC !== true, "must not share the node's network, PID or IPC namespace");
    const podSecurity = pod.securityContext || {};
    const annotations = spec.template.metadata?.annotations || {};
    check(annotations["prometheus.io/scrape"] === "true", 'the pod template needs the annotation prometheus.io/scrape: "true"');
    check(annotations["prometheus.io/path"] === "/metrics", 'the pod template needs the annotation prometheus.io/path: "/metrics"');
    check(annotations["prometheus.io/scheme"] === "https", 'the pod template needs the annotation prometheus.io/scheme: "https"');

    const containers = [...(pod.initContainers || []), ...(pod.containers || [])];
    for (const c of containers) {
      const sc = c.securityContext || {};
      const effective = (key) => (sc[key] !== undefined ? sc[key] : podSecurity[key]);
      const where = `container ${c.name}`;
      check(effective("runAsNonRoot") === true, `${where}: runAsNonRoot must be true`);
      check(effective("runAsUser") === 10001, `${where}: runAsUser must be 10001 (the image's user)`);
      check(sc.readOnlyRootFilesystem === true, `${where}: securityContext.readOnlyRootFilesystem must be true`);
      check(sc.allowPrivilegeEscalation === false, `${where}: securityContext.allowPrivilegeEscalation must be false`);
      check(sc.privileged !== true, `${where}: must not be privileged`);
      check((sc.capabilities?.drop || []).includes("ALL"), `${where}: securityContext.capabilities.drop must include ALL`);
      check(!(sc.capabilities?.add || []).length, `${where}: must add no capability`);
      check(effective("seccompProfile")?.type === "RuntimeDefault", `${where}: seccompProfile.type must be RuntimeDefault`);
      const requests = c.resources?.requests || {};
      const limits = c.resources?.limits || {};
      check(requests.cpu !== undefined && requests.memory !== undefined, `${where}: resources.requests needs cpu and memory`);
      check(limits.memory !== undefined, `${where}: resources.limits needs memory`);
      for (const mount of c.volumeMounts || []) {
        check(mount.readOnly === true, `${where}: volume mount ${mount.name} must be readOnly`);
        check(!mount.subPath && !mount.subPathExpr, `${where}: volume mount ${mount.name} must not use subPath (the kubelet does not update those when the certificate is renewed)`);
      }
    }

    const gate = (pod.containers || []).find((c) => (c.args || [])[0] === "serve");
    if (!gate) {
      fail(file, obj, "no container runs `serve` (args[0])");
    } else {
      const args = flags(gate.args);
      const one = (name) => (args.get(name) || [])[0];
      const mountOf = (p) => (gate.volumeMounts || []).find((m) => typeof p === "string" && p.startsWith(m.mountPath.replace(/\/?$/, "/")));
      const volumeOf = (mount) => (pod.volumes || []).find((v) => v.name === mount.name);
      for (const flag of ["--tls-cert", "--tls-key", "--policy", "--mode"]) {
        check(typeof one(flag) === "string", `serve needs ${flag} VALUE`);
      }
      check(["warn", "enforce"].includes(one("--mode")), `--mode must be warn or enforce (found ${one("--mode")})`);
      for (const flag of ["--tls-cert", "--tls-key"]) {
        const mount = mountOf(one(flag));
        const volume = mount && volumeOf(mount);
        check(
          !!volume && volume.secret?.secretName === cert?.obj.spec.secretName,
          `${flag} ${one(flag)} must be inside the mount of the serving Certificate's secret (${cert?.obj.spec.secretName ?? "no valid Certificate ecr-scan-gate"})`,
        );
      }
      if (typeof one("--policy") === "string") {
        const mount = mountOf(one("--policy"));
        const volume = mount && volumeOf(mount);
        const key = path.posix.relative(mount?.mountPath || "/", one("--policy"));
        check(
          !!volume && volume.configMap?.name === "ecr-scan-gate-policy" && typeof policy?.obj.data?.[key] === "string",
          `--policy ${one("--policy")} must be a key of ConfigMap ecr-scan-gate-policy, mounted`,
        );
      }
      for (const volume of pod.volumes || []) {
        const mode = volume.secret?.defaultMode ?? volume.configMap?.defaultMode;
        check(mode === undefined || (Number.isInteger(mode) && mode >= 0 && mode <= 0o777), `volume ${volume.name}: defaultMode ${mode} is not a file mode`);
      }
      if (one("--listen")) listenPort = Number(one("--listen").split(":").pop());
      if (one("--decision-timeout")) decisionTimeout = seconds(one("--decision-timeout"));
      check((gate.ports || []).some((p) => p.containerPort === listenPort), `container ${gate.name} must expose containerPort ${listenPort}`);
      check((gate.env || []).some((e) => e.name === "AWS_REGION"), `container ${gate.name} needs env AWS_REGION`);
      const probe = (which, pathName) => {
        const get = gate[which]?.httpGet;
        check(
          get?.path === pathName && get?.scheme === "HTTPS" && (get?.port === listenPort || (gate.ports || []).some((p) => p.name === get?.port && p.containerPort === listenPort)),
          `container ${gate.name}: ${which} must be httpGet ${pathName}, scheme HTTPS, port ${listenPort}`,
        );
      };
      probe("readinessProbe", "/readyz");
      probe("livenessProbe", "/healthz");
      check(annotations["prometheus.io/port"] === String(listenPort), `the pod template needs the annotation prometheus.io/port: "${listenPort}"`);
    }
  }

  // The PodDisruptionBudget keeps one replica through voluntary disruptions.
  const pdbs = objects.filter((o) => o.obj.kind === "PodDisruptionBudget" && o.obj.metadata.namespace === NAMESPACE);
  const pdb = pdbs.find((o) => podLabels && selects(o.obj.spec.selector, podLabels));
  if (!pdb) {
    failures.push(`FAIL ${path.relative(process.cwd(), options.dir)}: PodDisruptionBudget: none in namespace ${NAMESPACE} selects the Deployment's pods`);
  } else if (pdb.obj.spec.minAvailable !== 1) {
    fail(pdb.file, pdb.obj, `minAvailable must be 1 (found ${JSON.stringify(pdb.obj.spec.minAvailable)})`);
  }

  // The Service routes 443 to the pods' port.
  if (service) {
    const { file, obj } = service;
    if (!podLabels || !selects({ matchLabels: obj.spec.selector }, podLabels)) fail(file, obj, "selector must match the Deployment's pod labels");
    const port = (obj.spec.ports || []).find((p) => p.port === 443);
    const target = port?.targetPort;
    const gate = deployment?.obj.spec.template.spec.containers.find((c) => (c.args || [])[0] === "serve");
    const targetOk = target === listenPort || (gate?.ports || []).some((p) => p.name === target && p.containerPort === listenPort);
    if (!port || !targetOk) fail(file, obj, `needs port 443 with targetPort ${listenPort}`);
  }

  // The webhook.
  const webhookConfig = require1("ValidatingWebhookConfiguration", "ecr-scan-gate");
  if (webhookConfig) {
    const { file, obj } = webhookConfig;
    const check = (ok, message) => ok || fail(file, obj, message);
    const inject = obj.metadata.annotations?.["cert-manager.io/inject-ca-from"];
    check(
      !!cert && inject === `${cert.obj.metadata.namespace}/${cert.obj.metadata.name}`,
      `annotation cert-manager.io/inject-ca-from must name the serving Certificate (found ${JSON.stringify(inject)})`,
    );
    const hooks = obj.webhooks || [];
    check(hooks.length === 1 && hooks[0].name === "images.ecr-scan-gate.io", "must have exactly one webhook, images.ecr-scan-gate.io");
    for (const hook of hooks) {
      const where = `webhook ${hook.name}`;
      const svc = hook.clientConfig?.service;
      check(hook.clientConfig?.url === undefined, `${where}: clientConfig must use the Service, not a url`);
      check(
        svc?.namespace === NAMESPACE && svc?.name === "ecr-scan-gate" && svc?.path === "/validate" && svc?.port === 443 && !!service,
        `${where}: clientConfig.service must be ${NAMESPACE}/ecr-scan-gate port 443 path /validate (the Service defined here)`,
      );
      check(hook.failurePolicy === "Fail", `${where}: failurePolicy must be Fail (found ${hook.failurePolicy})`);
      check(hook.sideEffects === "None", `${where}: sideEffects must be None (found ${hook.sideEffects})`);
      check(hook.timeoutSeconds === 10, `${where}: timeoutSeconds must be 10 (found ${hook.timeoutSeconds})`);
      check(decisionTimeout < hook.timeoutSeconds, `${where}: the gate's --decision-timeout (${decisionTimeout}s) must be shorter than timeoutSeconds`);
      check(isDeepStrictEqual(hook.admissionReviewVersions, ["v1"]), `${where}: admissionReviewVersions must be [v1] (found ${JSON.stringify(hook.admissionReviewVersions)})`);
      check(hook.matchPolicy === "Equivalent", `${where}: matchPolicy must be Equivalent (found ${hook.matchPolicy})`);
      const excluded = (hook.namespaceSelector?.matchExpressions || [])
        .filter((e) => e.key === "kubernetes.io/metadata.name" && e.operator === "NotIn")
        .flatMap((e) => e.values || []);
      for (const name of ["kube-system", NAMESPACE]) {
        check(excluded.includes(name), `${where}: namespaceSelector must exclude ${name} (kubernetes.io/metadata.name NotIn)`);
      }
      check(!hook.objectSelector || Object.keys(hook.objectSelector).length === 0, `${where}: no objectSelector (a label must not opt a Pod out)`);
      const required = [
        ["", "pods", "CREATE"], ["", "pods", "UPDATE"], ["", "pods/ephemeralcontainers", "UPDATE"],
        ["", "replicationcontrollers", "CREATE"], ["", "replicationcontrollers", "UPDATE"],
        ...["deployments", "statefulsets", "daemonsets", "replicasets"].flatMap((r) => [["apps", r, "CREATE"], ["apps", r, "UPDATE"]]),
        ...["jobs", "cronjobs"].flatMap((r) => [["batch", r, "CREATE"], ["batch", r, "UPDATE"]]),
      ];
      const has = (list, value) => Array.isArray(list) && (list.includes(value) || list.includes("*"));
      for (const [group, resource, operation] of required) {
        const covered = (hook.rules || []).some(
          (r) => has(r.apiGroups, group) && has(r.apiVersions, "v1") && has(r.resources, resource) && has(r.operations, operation) && (r.scope === undefined || r.scope === "*" || r.scope === "Namespaced"),
        );
        check(covered, `${where}: rules must cover ${operation} ${group || "core"}/${resource}`);
      }
    }
  }
}

checkKustomization();
checkIamPolicy();
checkContract();

// Every object that passed both its schema and the contract, then every problem.
const passed = objects.filter(({ obj }) => !failedLabels.has(label(obj)));
for (const { obj } of passed) console.log(`ok ${label(obj)}`);
if (failures.length > 0) {
  for (const line of failures) console.error(line);
  console.error(`${failures.length} problem(s) in ${path.relative(process.cwd(), options.dir) || options.dir}`);
  process.exit(1);
}
console.log(`validated ${passed.length} objects in ${manifestFiles.length} files`);
