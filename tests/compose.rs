//! The container deployment, checked as files: `docker-compose.yml`, `deploy/Dockerfile`,
//! `deploy/docker/`, `deploy/prometheus/` and `deploy/grafana/`. Nothing here needs Docker or
//! a running stack. These tests catch what `docker compose up` would only show at run time: a
//! mount of a file that moved, a misspelt service name, a scrape target on the wrong port, a
//! dashboard querying a metric nobody exports, a docker config that drifted from the local one.
//! Every failure names the file to fix.
//!
//! Run: `cargo test -p cdc-tests --test compose`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

/// The services docs/docker.md describes; `mysql` is the only one behind a profile.
const SERVICES: &[&str] = &[
    "mariadb",
    "mysql",
    "kafka",
    "hubspot-sim",
    "hubspot-setup",
    "streamer-reader",
    "streamer-sink",
    "prometheus",
    "grafana",
];

/// Counters and gauges the streamer exports (crates/cli sets them up). The dashboard may use
/// nothing else, and shows each of them.
const METRICS: &[&str] = &[
    "cdc_reader_events_total",
    "cdc_reader_published_total",
    "cdc_reader_binlog_position",
    "cdc_reader_seconds_behind",
    "cdc_reader_in_flight",
    "cdc_sink_batches_total",
    "cdc_sink_events_in_total",
    "cdc_sink_records_out_total",
    "cdc_hubspot_requests_total",
    "cdc_hubspot_rate_limited_total",
    "cdc_sink_retries_total",
    "cdc_sink_dead_letters_total",
    "cdc_sink_lag_messages",
];

/// Histograms, queried through their `_bucket`, `_sum` and `_count` series.
const HISTOGRAMS: &[&str] = &["cdc_sink_batch_size", "cdc_sink_end_to_end_latency_seconds"];

/// Which streamer service runs which command, and the Prometheus job that scrapes it.
const STREAMERS: &[(&str, &str, &str)] = &[
    ("streamer-reader", "reader", "cdc-reader"),
    ("streamer-sink", "sink", "cdc-sink"),
];

const COMPOSE: &str = "docker-compose.yml";
const DOCKER_CONFIG: &str = "deploy/docker/cdc-streamer.toml";
const LOCAL_CONFIG: &str = "deploy/local/cdc-streamer.toml";
const SYNC_SCRIPT: &str = "deploy/docker/sync-config.sh";
const PROMETHEUS: &str = "deploy/prometheus/prometheus.yml";
const DASHBOARD: &str = "deploy/grafana/dashboards/cdc-streamer.json";
const GRAFANA_DATASOURCES: &str = "deploy/grafana/provisioning/datasources/prometheus.yml";
const GRAFANA_PROVIDERS: &str = "deploy/grafana/provisioning/dashboards/cdc-streamer.yml";
const MYSQL_INIT: &str = "deploy/docker/mysql-init";

// --- files ---------------------------------------------------------------------------------------

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
}

fn load_yaml(rel: &str) -> Yaml {
    let mut docs = YamlLoader::load_from_str(&read(rel))
        .unwrap_or_else(|e| panic!("{rel} is not valid YAML: {e}"));
    assert_eq!(docs.len(), 1, "{rel} should hold exactly one YAML document");
    docs.remove(0)
}

fn docker_config() -> toml::Value {
    toml::from_str(&read(DOCKER_CONFIG))
        .unwrap_or_else(|e| panic!("{DOCKER_CONFIG} is not valid TOML: {e}"))
}

// --- YAML values ---------------------------------------------------------------------------------

/// A scalar as text, the way Compose reads `3306`, `true` or `"x"` alike.
fn scalar(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A list of scalars, or one string split on whitespace (Compose's `command: a b c`).
fn words(y: &Yaml) -> Vec<String> {
    match y {
        Yaml::Array(items) => items.iter().filter_map(scalar).collect(),
        Yaml::String(s) => s.split_whitespace().map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// Map keys as strings (a service's `depends_on`, the top-level `volumes`).
fn keys(y: &Yaml) -> Vec<String> {
    y.as_hash()
        .map(|h| h.keys().filter_map(scalar).collect())
        .unwrap_or_default()
}

// --- variable substitution -----------------------------------------------------------------------

/// Replaces `${VAR}`, `${VAR:-default}` and `${VAR-default}` using `lookup`, falling back to
/// the default; `$$` is a literal `$`. Err(VAR) when VAR has neither a value nor a default.
fn substitute(s: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| format!("unterminated ${{ in {s:?}"))?;
            let spec = &body[..end];
            let (var, default) = match spec.split_once(":-").or_else(|| spec.split_once('-')) {
                Some((v, d)) => (v, Some(d)),
                None => (spec, None),
            };
            match (lookup(var), default) {
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => return Err(var.to_string()),
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Compose interpolation as `docker compose` does it without a `.env` file and with none of the
/// variables exported: the defaults. The tests must not depend on the caller's environment.
fn interpolate(s: &str) -> String {
    substitute(s, |_| None).unwrap_or_else(|var| {
        panic!(
            "{COMPOSE}: ${{{var}}} has no default; write ${{{var}:-...}} so that `docker compose up` \
             works without a .env file"
        )
    })
}

// --- docker-compose.yml --------------------------------------------------------------------------

struct Compose {
    doc: Yaml,
}

/// A published port: `[ip:]host:container`.
struct Published {
    host_ip: Option<String>,
    host: u16,
    container: u16,
}

/// Where a mount's data comes from.
enum Source {
    /// A host path, relative to the repository root.
    Bind(PathBuf),
    /// A named volume.
    Volume(String),
}

struct Mount {
    source: Source,
    target: String,
}

impl Compose {
    fn load() -> Self {
        Self {
            doc: load_yaml(COMPOSE),
        }
    }

    fn service_names(&self) -> Vec<String> {
        keys(&self.doc["services"])
    }

    fn service(&self, name: &str) -> &Yaml {
        let svc = &self.doc["services"][name];
        assert!(
            svc.is_hash(),
            "{COMPOSE}: no service `{name}` (docs/docker.md and tests/compose.rs expect it)"
        );
        svc
    }

    fn has_service(&self, name: &str) -> bool {
        self.doc["services"][name].is_hash()
    }

    /// `environment`, map or `KEY=VALUE` list form, interpolated.
    fn env(&self, name: &str) -> BTreeMap<String, String> {
        match &self.service(name)["environment"] {
            Yaml::Hash(h) => h
                .iter()
                .filter_map(|(k, v)| {
                    Some((scalar(k)?, interpolate(&scalar(v).unwrap_or_default())))
                })
                .collect(),
            Yaml::Array(items) => items
                .iter()
                .filter_map(scalar)
                .map(|kv| match kv.split_once('=') {
                    Some((k, v)) => (k.to_string(), interpolate(v)),
                    None => (kv, String::new()),
                })
                .collect(),
            _ => BTreeMap::new(),
        }
    }

    /// `command`, interpolated.
    fn command(&self, name: &str) -> Vec<String> {
        words(&self.service(name)["command"])
            .iter()
            .map(|w| interpolate(w))
            .collect()
    }

    /// The value after `flag` in `command` (`--flag value` or `--flag=value`).
    fn flag(&self, name: &str, flag: &str) -> Option<String> {
        let command = self.command(name);
        let eq = format!("{flag}=");
        command.iter().enumerate().find_map(|(i, w)| {
            if w == flag {
                command.get(i + 1).cloned()
            } else {
                w.strip_prefix(&eq).map(str::to_string)
            }
        })
    }

    fn published(&self, name: &str) -> Vec<Published> {
        let Some(ports) = self.service(name)["ports"].as_vec() else {
            return Vec::new();
        };
        ports
            .iter()
            .filter_map(|p| match p {
                Yaml::Hash(_) => Some(Published {
                    host_ip: scalar(&p["host_ip"]),
                    host: port_number(&interpolate(&scalar(&p["published"])?), name),
                    container: port_number(&scalar(&p["target"])?, name),
                }),
                _ => {
                    let spec = interpolate(&scalar(p)?);
                    let spec = spec.split('/').next().unwrap_or_default().to_string();
                    let parts: Vec<&str> = spec.split(':').collect();
                    match parts.as_slice() {
                        [_container] => None,
                        [host, container] => Some(Published {
                            host_ip: None,
                            host: port_number(host, name),
                            container: port_number(container, name),
                        }),
                        [ip, host, container] => Some(Published {
                            host_ip: Some(ip.to_string()),
                            host: port_number(host, name),
                            container: port_number(container, name),
                        }),
                        _ => panic!("{COMPOSE}: service `{name}`: cannot read port `{spec}`"),
                    }
                }
            })
            .collect()
    }

    /// The ports a service listens on inside the network: `expose` and the container side of
    /// `ports`.
    fn container_ports(&self, name: &str) -> BTreeSet<u16> {
        let svc = self.service(name);
        let mut set: BTreeSet<u16> = words(&svc["expose"])
            .iter()
            .map(|p| port_number(p, name))
            .collect();
        set.extend(self.published(name).iter().map(|p| p.container));
        if let Some(ports) = svc["ports"].as_vec() {
            for p in ports.iter().filter_map(scalar) {
                if !p.contains(':') {
                    set.insert(port_number(p.split('/').next().unwrap_or_default(), name));
                }
            }
        }
        set
    }

    fn mounts(&self, name: &str) -> Vec<Mount> {
        let Some(volumes) = self.service(name)["volumes"].as_vec() else {
            return Vec::new();
        };
        volumes
            .iter()
            .filter_map(|v| {
                let (source, target, kind) = match v {
                    Yaml::Hash(_) => (
                        interpolate(&scalar(&v["source"])?),
                        scalar(&v["target"])?,
                        scalar(&v["type"]),
                    ),
                    _ => {
                        let spec = interpolate(&scalar(v)?);
                        let mut parts = spec.splitn(3, ':');
                        let source = parts.next()?.to_string();
                        // `- /path` alone is an anonymous volume: nothing to check.
                        let target = parts.next()?.to_string();
                        (source, target, None)
                    }
                };
                let is_path = source.starts_with('.') || source.starts_with('/');
                let source = match kind.as_deref() {
                    Some("bind") => Source::Bind(PathBuf::from(source)),
                    Some("volume") => Source::Volume(source),
                    Some(_) => return None,
                    None if is_path => Source::Bind(PathBuf::from(source)),
                    None => Source::Volume(source),
                };
                Some(Mount { source, target })
            })
            .collect()
    }

    /// The host path behind a container path, through the service's bind mounts (the most
    /// specific mount wins).
    fn host_path(&self, name: &str, container_path: &str) -> PathBuf {
        self.mounts(name)
            .into_iter()
            .filter_map(|m| {
                let Source::Bind(host) = m.source else {
                    return None;
                };
                let target = m.target.trim_end_matches('/');
                let rest = container_path.strip_prefix(target)?;
                if !(rest.is_empty() || rest.starts_with('/')) {
                    return None;
                }
                let mut path = root().join(host.strip_prefix(".").unwrap_or(&host));
                let rest = rest.trim_start_matches('/');
                if !rest.is_empty() {
                    path.push(rest);
                }
                Some((target.len(), path))
            })
            .max_by_key(|(len, _)| *len)
            .map(|(_, path)| path)
            .unwrap_or_else(|| {
                panic!(
                    "{COMPOSE}: service `{name}` uses {container_path}, but no bind mount of it \
                     provides that path"
                )
            })
    }

    /// `depends_on` as (target, condition), list or map form.
    fn depends_on(&self, name: &str) -> Vec<(String, String)> {
        let deps = &self.service(name)["depends_on"];
        match deps {
            Yaml::Array(items) => items
                .iter()
                .filter_map(scalar)
                .map(|t| (t, "service_started".to_string()))
                .collect(),
            Yaml::Hash(h) => h
                .iter()
                .filter_map(|(k, v)| {
                    let condition =
                        scalar(&v["condition"]).unwrap_or_else(|| "service_started".into());
                    Some((scalar(k)?, condition))
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    fn profiles(&self, name: &str) -> Vec<String> {
        words(&self.service(name)["profiles"])
    }

    fn restart(&self, name: &str) -> String {
        scalar(&self.service(name)["restart"]).unwrap_or_else(|| "no".into())
    }
}

fn port_number(s: &str, service: &str) -> u16 {
    s.trim().parse().unwrap_or_else(|_| {
        panic!(
            "{COMPOSE}: service `{service}`: `{s}` is not a port number (ranges are not used here)"
        )
    })
}

/// `host:port` of a URL (`mysql://user:pw@host:3306/db`, `http://host:8089`) or of a bare
/// `host:port`; the port defaults by scheme.
fn host_port(address: &str) -> (String, u16) {
    let (scheme, rest) = address.split_once("://").unwrap_or(("", address));
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let default_port = match scheme {
        "http" => 80,
        "https" => 443,
        "mysql" => 3306,
        _ => 0,
    };
    match authority.rsplit_once(':') {
        Some((host, port)) => (
            host.to_string(),
            port.parse()
                .unwrap_or_else(|_| panic!("`{address}`: `{port}` is not a port number")),
        ),
        None => (authority.to_string(), default_port),
    }
}

/// Asserts that `address` names a compose service and a port it listens on.
fn assert_reaches_a_service(compose: &Compose, address: &str, used_by: &str) {
    let (host, port) = host_port(address);
    assert!(
        compose.has_service(&host),
        "{used_by}: `{address}` names host `{host}`, which is no service of {COMPOSE}: use a \
         service name (services: {:?})",
        compose.service_names()
    );
    let ports = compose.container_ports(&host);
    assert!(
        ports.contains(&port),
        "{used_by}: `{address}` uses port {port}, but service `{host}` listens on {ports:?} \
         (its `expose` and `ports` in {COMPOSE}): fix the port or the service"
    );
}

// --- the streamer's config -----------------------------------------------------------------------

/// Every string under a key named `url`, `base_url` or `brokers` (comma-separated), with its
/// TOML path, wherever the section is.
fn endpoints(value: &toml::Value, path: &str, out: &mut Vec<(String, String)>) {
    match value {
        toml::Value::Table(table) => {
            for (key, v) in table {
                let here = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match (key.as_str(), v) {
                    ("url" | "base_url", toml::Value::String(s)) => out.push((here, s.clone())),
                    ("brokers", toml::Value::String(s)) => {
                        out.extend(s.split(',').map(|b| (here.clone(), b.trim().to_string())))
                    }
                    _ => endpoints(v, &here, out),
                }
            }
        }
        toml::Value::Array(items) => items.iter().for_each(|v| endpoints(v, path, out)),
        _ => {}
    }
}

/// The streamer's `${VAR}` expansion, with the service's environment from the compose file.
fn expand_for(compose: &Compose, service: &str, s: &str) -> String {
    let env = compose.env(service);
    substitute(s, |var| env.get(var).cloned()).unwrap_or_else(|var| {
        panic!(
            "{DOCKER_CONFIG} uses ${{{var}}} without a default, and `{service}` in {COMPOSE} does \
             not set {var} in its environment: set it there"
        )
    })
}

/// The metrics address a streamer service listens on: CDC_METRICS_LISTEN from its environment,
/// else `[metrics] listen` of the docker config.
fn metrics_listen(compose: &Compose, service: &str) -> String {
    if let Some(listen) = compose.env(service).get("CDC_METRICS_LISTEN") {
        return listen.clone();
    }
    docker_config()
        .get("metrics")
        .and_then(|m| m.get("listen"))
        .and_then(|l| l.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| {
            panic!(
                "`{service}` has no metrics address: {DOCKER_CONFIG} has no [metrics] listen \
                 (add it to {LOCAL_CONFIG} and run `bash {SYNC_SCRIPT}`) and the service sets \
                 no CDC_METRICS_LISTEN"
            )
        })
}

// --- tests: docker-compose.yml -------------------------------------------------------------------

#[test]
fn compose_defines_every_service_of_the_stack() {
    let compose = Compose::load();
    assert!(
        compose.doc["version"].is_badvalue(),
        "{COMPOSE}: drop the top-level `version:` key, the Compose specification has none"
    );
    for name in SERVICES {
        compose.service(name);
    }
    for name in compose.service_names() {
        let profiles = compose.profiles(&name);
        if name == "mysql" {
            assert_eq!(
                profiles,
                ["mysql8"],
                "{COMPOSE}: `mysql` should start only with `--profile mysql8` (docs/docker.md)"
            );
        } else {
            assert!(
                profiles.is_empty(),
                "{COMPOSE}: `{name}` has profiles {profiles:?}, so a plain `docker compose up` \
                 would not start it: remove them"
            );
        }
    }
}

#[test]
fn build_contexts_and_dockerfiles_exist() {
    let compose = Compose::load();
    let mut built = 0;
    for name in compose.service_names() {
        let build = &compose.service(&name)["build"];
        let (context, dockerfile) = match build {
            Yaml::BadValue => continue,
            Yaml::String(context) => (context.clone(), "Dockerfile".to_string()),
            _ => (
                scalar(&build["context"]).unwrap_or_else(|| ".".into()),
                scalar(&build["dockerfile"]).unwrap_or_else(|| "Dockerfile".into()),
            ),
        };
        built += 1;
        let context = root().join(context);
        assert!(
            context.is_dir(),
            "{COMPOSE}: `{name}` builds in {}, which is not a directory: fix build.context",
            context.display()
        );
        assert!(
            context.join(&dockerfile).is_file(),
            "{COMPOSE}: `{name}` builds with {dockerfile} (relative to its context), which does \
             not exist: fix build.dockerfile"
        );
    }
    assert!(built > 0, "{COMPOSE}: no service builds deploy/Dockerfile");
}

#[test]
fn bind_mounts_point_at_files_of_the_repository() {
    let compose = Compose::load();
    for name in compose.service_names() {
        for mount in compose.mounts(&name) {
            if let Source::Bind(host) = mount.source {
                assert!(
                    root().join(&host).exists(),
                    "{COMPOSE}: `{name}` mounts {} at {}, but it does not exist: fix the path \
                     (relative to the repository root)",
                    host.display(),
                    mount.target
                );
            }
        }
    }
}

#[test]
fn named_volumes_are_declared_and_used() {
    let compose = Compose::load();
    let declared: BTreeSet<String> = keys(&compose.doc["volumes"]).into_iter().collect();
    let mut used = BTreeSet::new();
    for name in compose.service_names() {
        for mount in compose.mounts(&name) {
            if let Source::Volume(volume) = mount.source {
                assert!(
                    declared.contains(&volume),
                    "{COMPOSE}: `{name}` mounts volume `{volume}`, which is not declared under \
                     the top-level `volumes:`: declare it"
                );
                used.insert(volume);
            }
        }
    }
    let unused: Vec<_> = declared.difference(&used).collect();
    assert!(
        unused.is_empty(),
        "{COMPOSE}: volumes {unused:?} are declared but no service mounts them: remove them"
    );
}

#[test]
fn published_ports_are_unique_and_on_loopback() {
    let compose = Compose::load();
    let mut seen: BTreeMap<u16, String> = BTreeMap::new();
    for name in compose.service_names() {
        for port in compose.published(&name) {
            if let Some(other) = seen.insert(port.host, name.clone()) {
                assert_eq!(
                    other, name,
                    "{COMPOSE}: host port {} is published by both `{other}` and `{name}`: pick \
                     another host port for one of them",
                    port.host
                );
            }
            assert_eq!(
                port.host_ip.as_deref(),
                Some("127.0.0.1"),
                "{COMPOSE}: `{name}` publishes {}:{} on every interface; the stack uses demo \
                 passwords, so write \"127.0.0.1:{}:{}\"",
                port.host,
                port.container,
                port.host,
                port.container
            );
        }
    }
}

#[test]
fn dependencies_exist_and_can_be_met() {
    let compose = Compose::load();
    for name in compose.service_names() {
        for (target, condition) in compose.depends_on(&name) {
            assert!(
                compose.has_service(&target),
                "{COMPOSE}: `{name}` depends on `{target}`, which is no service: fix depends_on"
            );
            let target_svc = compose.service(&target);
            match condition.as_str() {
                "service_started" => {}
                "service_healthy" => assert!(
                    target_svc["healthcheck"].is_hash(),
                    "{COMPOSE}: `{name}` waits for `{target}` to be healthy, but `{target}` has \
                     no healthcheck: add one"
                ),
                "service_completed_successfully" => assert_eq!(
                    compose.restart(&target),
                    "no",
                    "{COMPOSE}: `{name}` waits for `{target}` to complete, so `{target}` must \
                     not restart: set `restart: \"no\"`"
                ),
                other => panic!(
                    "{COMPOSE}: `{name}` depends on `{target}` with unknown condition `{other}`"
                ),
            }
            assert!(
                compose.profiles(&target).is_empty() || !compose.profiles(&name).is_empty(),
                "{COMPOSE}: `{name}` depends on `{target}`, which only runs under a profile: a \
                 plain `docker compose up` would fail"
            );
        }
    }
}

#[test]
fn healthchecks_and_init_scripts_of_the_databases() {
    let compose = Compose::load();
    for db in ["mariadb", "mysql"] {
        let svc = compose.service(db);
        assert!(
            svc["healthcheck"].is_hash(),
            "{COMPOSE}: `{db}` needs a healthcheck (the streamers wait for it)"
        );
        assert_eq!(
            compose.host_path(db, "/docker-entrypoint-initdb.d"),
            root().join(MYSQL_INIT),
            "{COMPOSE}: `{db}` should mount {MYSQL_INIT} at /docker-entrypoint-initdb.d"
        );
        let command = compose.command(db);
        for flag in [
            "--binlog-format=ROW",
            "--binlog-row-image=FULL",
            "--binlog-row-metadata=FULL",
            "--server-id=1",
        ] {
            assert!(
                command.iter().any(|c| c == flag),
                "{COMPOSE}: `{db}` needs {flag} in its command (the reader requires it)"
            );
        }
    }
    assert!(
        compose
            .command("mysql")
            .iter()
            .any(|c| c == "--gtid-mode=ON"),
        "{COMPOSE}: `mysql` should run with --gtid-mode=ON"
    );

    // Every /cdc-sql/… file an init script reads must be there, in both database services.
    let dir = root().join(MYSQL_INIT);
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {MYSQL_INIT}: {e}"))
        .map(|e| e.unwrap().path())
        .collect();
    scripts.sort();
    assert!(!scripts.is_empty(), "{MYSQL_INIT} has no init scripts");
    for script in &scripts {
        let file = script.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            file.ends_with(".sh") || file.ends_with(".sql"),
            "{MYSQL_INIT}/{file}: the image's entrypoint ignores files that are neither *.sh nor *.sql"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(script).unwrap().permissions().mode();
            assert_eq!(
                mode & 0o111,
                0,
                "{MYSQL_INIT}/{file} is executable: the entrypoint then runs it in a child shell \
                 without docker_process_sql; `chmod -x` it so that it is sourced"
            );
        }
        let text = std::fs::read_to_string(script).unwrap();
        for (i, _) in text.match_indices("/cdc-sql/") {
            let path: String = text[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "/._-".contains(*c))
                .collect();
            for db in ["mariadb", "mysql"] {
                let host = compose.host_path(db, &path);
                assert!(
                    host.is_file(),
                    "{MYSQL_INIT}/{file} reads {path}, which `{db}` mounts from {}, a missing \
                     file: fix the script or the mount",
                    host.display()
                );
            }
        }
    }
}

#[test]
fn streamers_run_the_docker_config_from_the_shared_image() {
    let compose = Compose::load();
    for (service, subcommand, _) in STREAMERS {
        let command = compose.command(service);
        assert_eq!(
            command.first().map(String::as_str),
            Some(*subcommand),
            "{COMPOSE}: `{service}` should run `cdc-streamer {subcommand}`"
        );
        assert!(
            compose.service(service)["entrypoint"].is_badvalue(),
            "{COMPOSE}: `{service}` should keep the image's entrypoint (cdc-streamer)"
        );
        let config = compose.flag(service, "--config").unwrap_or_else(|| {
            panic!(
                "{COMPOSE}: `{service}` should pass --config /etc/cdc-streamer/cdc-streamer.toml"
            )
        });
        assert_eq!(
            compose.host_path(service, &config),
            root().join(DOCKER_CONFIG),
            "{COMPOSE}: `{service}` should mount {DOCKER_CONFIG} at {config}"
        );
        assert_eq!(
            compose.restart(service),
            "unless-stopped",
            "{COMPOSE}: `{service}` should have `restart: unless-stopped` (it exits when the \
             source or broker goes away and resumes from its checkpoint)"
        );
        assert_eq!(
            scalar(&compose.service(service)["build"]["dockerfile"]).as_deref(),
            Some("deploy/Dockerfile"),
            "{COMPOSE}: `{service}` should be built from deploy/Dockerfile"
        );
    }
}

/// The port a healthcheck probes over bash's `/dev/tcp/127.0.0.1/PORT`, if it does.
fn probed_port(compose: &Compose, name: &str) -> Option<u16> {
    const PROBE: &str = "/dev/tcp/127.0.0.1/";
    let test = words(&compose.service(name)["healthcheck"]["test"]).join(" ");
    let at = test.find(PROBE)? + PROBE.len();
    let digits: String = test[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some(port_number(&digits, name))
}

#[test]
fn healthchecks_probe_ports_the_services_listen_on() {
    let compose = Compose::load();
    for name in compose.service_names() {
        if let Some(port) = probed_port(&compose, &name) {
            assert!(
                compose.container_ports(&name).contains(&port),
                "{COMPOSE}: the healthcheck of `{name}` probes port {port}, which `{name}` does \
                 not expose: probe the port it listens on"
            );
        }
    }
}

#[test]
fn simulator_token_and_addresses_agree() {
    let compose = Compose::load();
    let token = compose
        .flag("hubspot-sim", "--token")
        .expect("docker-compose.yml: `hubspot-sim` should pass --token");
    for service in ["hubspot-setup", "streamer-reader", "streamer-sink"] {
        assert_eq!(
            compose.env(service).get("HUBSPOT_TOKEN"),
            Some(&token),
            "{COMPOSE}: `{service}` should set HUBSPOT_TOKEN to the simulator's --token"
        );
    }
    let listen = compose
        .flag("hubspot-sim", "--listen")
        .expect("docker-compose.yml: `hubspot-sim` should pass --listen 0.0.0.0:PORT");
    let (host, port) = host_port(&listen);
    assert_eq!(
        host, "0.0.0.0",
        "{COMPOSE}: `hubspot-sim` must listen on 0.0.0.0 to be reachable from other containers"
    );
    assert!(
        compose.container_ports("hubspot-sim").contains(&port),
        "{COMPOSE}: `hubspot-sim` listens on {port} but does not expose it"
    );
    assert_eq!(
        probed_port(&compose, "hubspot-sim"),
        Some(port),
        "{COMPOSE}: the healthcheck of `hubspot-sim` should probe the port it listens on ({port})"
    );
    let state = compose
        .flag("hubspot-sim", "--state-file")
        .expect("docker-compose.yml: `hubspot-sim` should pass --state-file");
    assert!(
        compose.mounts("hubspot-sim").iter().any(|m| {
            matches!(m.source, Source::Volume(_)) && state.starts_with(&format!("{}/", m.target))
        }),
        "{COMPOSE}: `hubspot-sim` keeps its state in {state}, which is on no named volume"
    );

    let url = compose
        .env("hubspot-setup")
        .get("HUBSPOT_URL")
        .cloned()
        .expect("docker-compose.yml: `hubspot-setup` should set HUBSPOT_URL");
    assert_reaches_a_service(&compose, &url, "hubspot-setup's HUBSPOT_URL");
    // The setup script and the property definitions it reads (the local stack's file).
    for arg in compose
        .command("hubspot-setup")
        .iter()
        .filter(|a| a.starts_with('/'))
    {
        let host = compose.host_path("hubspot-setup", arg);
        assert!(
            host.is_file(),
            "{COMPOSE}: `hubspot-setup` needs {arg}, mounted from a missing {}",
            host.display()
        );
    }
    let json = compose.host_path("hubspot-setup", "/setup/hubspot-properties.json");
    assert_eq!(
        json,
        root().join("deploy/local/hubspot-properties.json"),
        "{COMPOSE}: `hubspot-setup` should read deploy/local/hubspot-properties.json itself, not a copy"
    );
    let properties: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert!(
        properties
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(|p| p["name"].is_string())),
        "deploy/local/hubspot-properties.json should be a non-empty array of properties with names"
    );
}

// --- tests: the docker streamer config ----------------------------------------------------------

#[test]
fn docker_config_is_generated_from_the_local_one() {
    let output = Command::new("bash")
        .arg(root().join(SYNC_SCRIPT))
        .arg("--stdout")
        .output()
        .unwrap_or_else(|e| panic!("cannot run bash {SYNC_SCRIPT}: {e}"));
    assert!(
        output.status.success(),
        "bash {SYNC_SCRIPT} --stdout failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected = String::from_utf8(output.stdout).unwrap();
    assert!(
        expected == read(DOCKER_CONFIG),
        "{DOCKER_CONFIG} is stale or edited by hand: it is generated from {LOCAL_CONFIG}; run \
         `bash {SYNC_SCRIPT}` (and put changes into the local file)"
    );
    for loopback in ["127.0.0.1", "localhost", "[::1]"] {
        assert!(
            !expected.contains(loopback),
            "{DOCKER_CONFIG} still names {loopback}, which in a container is the container \
             itself: add a substitution for it to {SYNC_SCRIPT}"
        );
    }
}

#[test]
fn docker_config_addresses_name_compose_services() {
    let compose = Compose::load();
    let config = docker_config();
    let mut found = Vec::new();
    endpoints(&config, "", &mut found);
    let keys: BTreeSet<&str> = found.iter().map(|(k, _)| k.as_str()).collect();
    for required in ["source.url", "kafka.brokers"] {
        assert!(keys.contains(required), "{DOCKER_CONFIG} has no {required}");
    }
    for (service, _, _) in STREAMERS {
        for (key, raw) in &found {
            let address = expand_for(&compose, service, raw);
            assert_reaches_a_service(
                &compose,
                &address,
                &format!("{DOCKER_CONFIG} {key} (as `{service}` expands it)"),
            );
        }
    }
    // CDC_MYSQL_HOST=mysql (the mysql8 profile) must reach MySQL on the same port.
    let (_, mysql_port) = host_port(&expand_for(
        &compose,
        "streamer-reader",
        config["source"]["url"].as_str().unwrap(),
    ));
    assert!(
        compose.container_ports("mysql").contains(&mysql_port),
        "{COMPOSE}: `mysql` should listen on {mysql_port} like `mariadb`, so that \
         CDC_MYSQL_HOST=mysql works"
    );
}

/// Keys ending in `_env` (e.g. `token_env = "HUBSPOT_TOKEN"`): environment variables the
/// streamer reads, with the key's TOML path.
fn env_keys(value: &toml::Value, path: &str, out: &mut Vec<(String, String)>) {
    match value {
        toml::Value::Table(table) => {
            for (key, v) in table {
                let here = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match v {
                    toml::Value::String(var) if key.ends_with("_env") => {
                        out.push((here, var.clone()))
                    }
                    _ => env_keys(v, &here, out),
                }
            }
        }
        toml::Value::Array(items) => items.iter().for_each(|v| env_keys(v, path, out)),
        _ => {}
    }
}

#[test]
fn streamers_get_every_variable_the_config_reads() {
    let compose = Compose::load();
    let text = read(DOCKER_CONFIG);
    let mut named = Vec::new();
    env_keys(&docker_config(), "", &mut named);
    for (service, _, _) in STREAMERS {
        // Panics on a `${VAR}` without default that the service does not set.
        expand_for(&compose, service, &text);
        let env = compose.env(service);
        for (key, var) in &named {
            assert!(
                env.contains_key(var),
                "{DOCKER_CONFIG} {key} = \"{var}\": `{service}` in {COMPOSE} should set {var} \
                 in its environment"
            );
        }
    }
}

#[test]
fn prometheus_scrapes_the_streamers_metrics_addresses() {
    let compose = Compose::load();
    let prometheus = load_yaml(PROMETHEUS);
    let jobs: BTreeMap<String, Vec<String>> = prometheus["scrape_configs"]
        .as_vec()
        .unwrap_or_else(|| panic!("{PROMETHEUS} has no scrape_configs"))
        .iter()
        .map(|job| {
            let name = scalar(&job["job_name"])
                .unwrap_or_else(|| panic!("{PROMETHEUS}: a scrape config has no job_name"));
            let targets = job["static_configs"]
                .as_vec()
                .into_iter()
                .flatten()
                .flat_map(|sc| words(&sc["targets"]))
                .collect();
            (name, targets)
        })
        .collect();
    for targets in jobs.values() {
        for target in targets {
            assert_reaches_a_service(&compose, target, &format!("{PROMETHEUS} target"));
        }
    }
    assert!(
        compose
            .env("streamer-sink")
            .contains_key("CDC_METRICS_LISTEN"),
        "{COMPOSE}: `streamer-sink` should set CDC_METRICS_LISTEN (it shares the reader's config \
         file, whose [metrics] listen is the reader's)"
    );
    for (service, _, job) in STREAMERS {
        let listen = metrics_listen(&compose, service);
        let (host, port) = host_port(&listen);
        assert!(
            host == "0.0.0.0" || host == "[::]",
            "`{service}` serves metrics on {listen}, which Prometheus (another container) cannot \
             reach: listen on 0.0.0.0"
        );
        assert!(
            compose.container_ports(service).contains(&port),
            "{COMPOSE}: `{service}` serves metrics on {port} but does not expose it"
        );
        assert_eq!(
            probed_port(&compose, service),
            Some(port),
            "{COMPOSE}: the healthcheck of `{service}` should probe /readyz on its metrics port {port}"
        );
        let expected = format!("{service}:{port}");
        assert_eq!(
            jobs.get(*job).map(Vec::as_slice),
            Some(std::slice::from_ref(&expected)),
            "{PROMETHEUS}: job `{job}` should scrape {expected}, where `{service}` serves metrics"
        );
    }
}

// --- tests: Grafana ------------------------------------------------------------------------------

/// PromQL of the dashboard: every `expr`, and the template variables' queries.
fn dashboard_queries(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("expr" | "query" | "definition", serde_json::Value::String(s)) => {
                        out.push(s.clone())
                    }
                    _ => dashboard_queries(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| dashboard_queries(v, out)),
        _ => {}
    }
}

/// Identifiers of a PromQL expression that start with `cdc_` (metric names; no label is named so).
fn cdc_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut word = String::new();
    for c in expr.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
        } else {
            if word.starts_with("cdc_") {
                names.push(std::mem::take(&mut word));
            }
            word.clear();
        }
    }
    names
}

/// The exported metric a series name belongs to (`x_bucket` of histogram `x` is `x`).
fn metric_of(series: &str) -> Option<&'static str> {
    if let Some(m) = METRICS.iter().find(|m| **m == series) {
        return Some(m);
    }
    HISTOGRAMS.iter().copied().find(|h| {
        series
            .strip_prefix(h)
            .is_some_and(|rest| ["_bucket", "_sum", "_count", ""].contains(&rest))
    })
}

/// Every `datasource.uid` in the dashboard.
fn datasource_uids(value: &serde_json::Value, out: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(uid) = map.get("datasource").and_then(|d| d["uid"].as_str()) {
                out.insert(uid.to_string());
            }
            map.values().for_each(|v| datasource_uids(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| datasource_uids(v, out)),
        _ => {}
    }
}

#[test]
fn dashboard_queries_only_exported_metrics_and_shows_them_all() {
    let dashboard: serde_json::Value = serde_json::from_str(&read(DASHBOARD))
        .unwrap_or_else(|e| panic!("{DASHBOARD} is not valid JSON: {e}"));
    let mut queries = Vec::new();
    dashboard_queries(&dashboard, &mut queries);
    assert!(!queries.is_empty(), "{DASHBOARD} has no queries");
    let mut shown = BTreeSet::new();
    for query in &queries {
        for name in cdc_names(query) {
            let metric = metric_of(&name).unwrap_or_else(|| {
                panic!(
                    "{DASHBOARD} queries `{name}`, which the streamer does not export (query: \
                     {query}); use one of {METRICS:?} or the histograms {HISTOGRAMS:?}, or add \
                     the new metric to the lists in tests/compose.rs"
                )
            });
            shown.insert(metric);
        }
    }
    let missing: Vec<_> = METRICS
        .iter()
        .chain(HISTOGRAMS)
        .filter(|m| !shown.contains(*m))
        .collect();
    assert!(
        missing.is_empty(),
        "{DASHBOARD} shows no panel for {missing:?}: add one"
    );

    let mut ids = BTreeSet::new();
    for panel in dashboard["panels"]
        .as_array()
        .expect("dashboard has panels")
    {
        let id = panel["id"].as_u64().expect("every panel has a numeric id");
        assert!(ids.insert(id), "{DASHBOARD}: panel id {id} is used twice");
    }
}

#[test]
fn grafana_provisioning_matches_compose() {
    let compose = Compose::load();

    let datasources = load_yaml(GRAFANA_DATASOURCES);
    let mut uids = BTreeSet::new();
    for ds in datasources["datasources"]
        .as_vec()
        .unwrap_or_else(|| panic!("{GRAFANA_DATASOURCES} has no datasources"))
    {
        let url = scalar(&ds["url"]).unwrap_or_default();
        assert_reaches_a_service(&compose, &url, GRAFANA_DATASOURCES);
        uids.extend(scalar(&ds["uid"]));
    }
    let dashboard: serde_json::Value = serde_json::from_str(&read(DASHBOARD)).unwrap();
    let mut used = BTreeSet::new();
    datasource_uids(&dashboard, &mut used);
    for uid in used {
        assert!(
            uids.contains(&uid),
            "{DASHBOARD} uses datasource uid `{uid}`, which {GRAFANA_DATASOURCES} does not \
             provision (uids: {uids:?})"
        );
    }

    // Grafana reads both provisioning folders and the dashboards from where compose mounts them.
    for (dir, file) in [
        ("/etc/grafana/provisioning/datasources", GRAFANA_DATASOURCES),
        ("/etc/grafana/provisioning/dashboards", GRAFANA_PROVIDERS),
    ] {
        let name = Path::new(file).file_name().unwrap().to_string_lossy();
        assert_eq!(
            compose.host_path("grafana", &format!("{dir}/{name}")),
            root().join(file),
            "{COMPOSE}: `grafana` should mount the folder of {file} at {dir}"
        );
    }
    let providers = load_yaml(GRAFANA_PROVIDERS);
    for provider in providers["providers"]
        .as_vec()
        .unwrap_or_else(|| panic!("{GRAFANA_PROVIDERS} has no providers"))
    {
        let path = scalar(&provider["options"]["path"])
            .unwrap_or_else(|| panic!("{GRAFANA_PROVIDERS}: a provider has no options.path"));
        let name = Path::new(DASHBOARD).file_name().unwrap().to_string_lossy();
        assert_eq!(
            compose.host_path("grafana", &format!("{path}/{name}")),
            root().join(DASHBOARD),
            "{GRAFANA_PROVIDERS} loads dashboards from {path}, where `grafana` should mount \
             deploy/grafana/dashboards"
        );
    }
    if let Some(home) = compose
        .env("grafana")
        .get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    {
        assert!(
            compose.host_path("grafana", home).is_file(),
            "{COMPOSE}: `grafana`'s home dashboard {home} is not a mounted file"
        );
    }
    let config_file = compose
        .flag("prometheus", "--config.file")
        .expect("docker-compose.yml: `prometheus` should pass --config.file");
    assert_eq!(
        compose.host_path("prometheus", &config_file),
        root().join(PROMETHEUS),
        "{COMPOSE}: `prometheus` should mount {PROMETHEUS} at {config_file}"
    );
}

// --- tests: the image ----------------------------------------------------------------------------

#[test]
fn dockerfile_builds_in_stages_and_runs_as_non_root() {
    let text = read("deploy/Dockerfile");
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    let froms: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.to_ascii_uppercase().starts_with("FROM "))
        .map(|(i, _)| i)
        .collect();
    assert!(
        froms.len() >= 2,
        "deploy/Dockerfile should build in one stage and run in another (multi-stage FROMs), \
         so the toolchain stays out of the image"
    );
    let last = &lines[*froms.last().unwrap()..];
    let user = last
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .unwrap_or_else(|| panic!("deploy/Dockerfile: the final stage needs a USER (non-root)"));
    let user = user.split(':').next().unwrap().trim();
    assert!(
        !["root", "0"].contains(&user),
        "deploy/Dockerfile: the final stage runs as `{user}`; use the unprivileged uid 10001"
    );
    assert!(
        last.iter()
            .any(|l| l.starts_with("ENTRYPOINT") && l.contains("\"cdc-streamer\"")),
        "deploy/Dockerfile: the final stage should have ENTRYPOINT [\"cdc-streamer\"]"
    );
    for binary in ["cdc-streamer", "hubspot-sim"] {
        assert!(
            text.contains(&format!("-p {binary}")),
            "deploy/Dockerfile should build {binary} (cargo build -p {binary}); docker-compose.yml runs it"
        );
        assert!(
            last.iter()
                .any(|l| l.starts_with("COPY --from=") && l.contains(binary)),
            "deploy/Dockerfile: the final stage should copy {binary} from the build stage"
        );
    }
    assert!(
        text.contains("--locked"),
        "deploy/Dockerfile: build with --locked so the image uses Cargo.lock's versions"
    );

    let ignore: BTreeSet<String> = read(".dockerignore")
        .lines()
        .map(|l| {
            l.trim()
                .trim_start_matches('/')
                .trim_end_matches('/')
                .to_string()
        })
        .collect();
    for entry in ["target", ".local", ".git"] {
        assert!(
            ignore.contains(entry),
            ".dockerignore should list {entry}, or every build sends it to the builder"
        );
    }
}
