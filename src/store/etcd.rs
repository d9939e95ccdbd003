//! The shared store: etcd v3, through the `etcd-client` crate (gRPC), so
//! that replicas keep one desired state and converge by watching it.
//!
//! Keys are `PREFIX/kind/id`. A write is acknowledged once etcd committed
//! it (a quorum of members has it in its log). Each write is a transaction
//! with two conditions: the key is still at the version this replica holds
//! (`seen`), and no key under the prefix changed after the last revision
//! this replica applied. The first means two replicas changing one object
//! cannot both win; the second keeps the rules *between* objects (an ENI
//! address used once, one custom domain per VPC), which the writer checked
//! against what it holds: two replicas handing out the same free address
//! to two new endpoints cannot both succeed. The loser is refused
//! (`StoreError::Conflict`) and gets the winner's change through the watch;
//! its caller may retry a moment later.
//!
//! The client is async; the `Store` interface is called from the blocking
//! pool. The client therefore runs on a runtime of its own, on its own
//! thread, which the blocking calls wait on (with a deadline, so that an
//! unreachable etcd fails a call instead of hanging it).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use etcd_client::{
    Client, Compare, CompareOp, ConnectOptions, EventType, GetOptions, Txn, TxnOp, WatchOptions,
};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tracing::{info, warn};

use super::{Store, StoreError, StoreEvent, StoreHealth};

/// How long one request may take before the call fails as unavailable.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
/// How often the store's reachability is checked (a quorum read).
const HEALTH_EVERY: Duration = Duration::from_millis(500);
/// Wait between two attempts to watch again after the watch broke.
const RETRY: Duration = Duration::from_millis(250);

/// Where the state lives: `etcd://HOST:PORT[,HOST:PORT…]/PREFIX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdTarget {
    /// `http://HOST:PORT` for each member given.
    pub endpoints: Vec<String>,
    /// The key prefix, without a trailing `/` (e.g. `/epdns/lab1`).
    pub prefix: String,
}

impl EtcdTarget {
    /// Parses `etcd://HOST:PORT[,HOST:PORT…]/PREFIX`; `None` when `s` is
    /// not an etcd URL at all (a folder of the embedded store).
    pub fn parse(s: &str) -> Option<Result<EtcdTarget, String>> {
        let rest = s.strip_prefix("etcd://")?;
        Some((|| {
            let (hosts, prefix) = rest
                .split_once('/')
                .ok_or_else(|| format!("{s}: no key prefix (etcd://HOST:PORT/PREFIX)"))?;
            let prefix = prefix.trim_end_matches('/');
            if prefix.is_empty() {
                return Err(format!("{s}: empty key prefix (etcd://HOST:PORT/PREFIX)"));
            }
            let mut endpoints = Vec::new();
            for host in hosts.split(',') {
                let ok = host
                    .rsplit_once(':')
                    .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
                if !ok {
                    return Err(format!("{s}: '{host}' is not HOST:PORT"));
                }
                endpoints.push(format!("http://{host}"));
            }
            Ok(EtcdTarget {
                endpoints,
                prefix: format!("/{prefix}"),
            })
        })())
    }

    pub(crate) fn name(&self) -> String {
        format!("{}{}", self.endpoints.join(","), self.prefix)
    }
}

/// The version of one key this replica holds: the revision that wrote it,
/// and whether it exists (a delete leaves a tombstone so that a late event
/// about the same key is recognised as old).
#[derive(Debug, Clone, Copy)]
struct Held {
    revision: u64,
    exists: bool,
}

pub(crate) struct EtcdStore {
    target: EtcdTarget,
    client: Client,
    rt: tokio::runtime::Handle,
    /// Stops the runtime's thread when the store is dropped.
    _stop: tokio::sync::oneshot::Sender<()>,
    held: Mutex<HashMap<String, Held>>,
    /// The last revision whose changes this replica holds: at open, then
    /// each change seen or written.
    applied: AtomicU64,
}

impl EtcdStore {
    /// Connects to `target` and checks that it answers (a quorum read):
    /// a replica does not start on a state it cannot read.
    pub(crate) fn open(target: &EtcdTarget) -> Result<EtcdStore, StoreError> {
        let (rt, stop) = runtime_thread().map_err(|e| StoreError::Backend {
            path: target.name(),
            message: format!("starting the etcd client's runtime: {e}"),
        })?;
        let endpoints = target.endpoints.clone();
        let options = ConnectOptions::new()
            .with_connect_timeout(REQUEST_TIMEOUT)
            .with_keep_alive(Duration::from_secs(1), Duration::from_secs(2))
            .with_keep_alive_while_idle(true);
        let client = wait(&rt, target, "connecting", move || {
            Client::connect(endpoints.clone(), Some(options.clone()))
        })?;
        let store = EtcdStore {
            target: target.clone(),
            client,
            rt,
            _stop: stop,
            held: Mutex::new(HashMap::new()),
            applied: AtomicU64::new(0),
        };
        let revision = store.revision()?;
        // Read before the objects are listed: whatever changes between the
        // two comes again through the watch and is skipped when held.
        store.applied.store(revision, Ordering::Relaxed);
        info!(etcd = %target.name(), revision, "state store: etcd");
        Ok(store)
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}/{kind}/{id}", self.target.prefix)
    }

    /// Runs `f(client)` (see `wait`).
    fn block<T, F, Fut>(&self, what: &str, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Fn(Client) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, etcd_client::Error>> + Send,
    {
        let client = self.client.clone();
        wait(&self.rt, &self.target, what, move || f(client.clone()))
    }

    fn hold(&self, key: String, revision: u64, exists: bool) {
        self.held
            .lock()
            .expect("never poisoned: no panics while held")
            .insert(key, Held { revision, exists });
    }

    /// The condition under which a write of `key` may go ahead: it is still
    /// the version this replica holds (absent when it holds none).
    fn unchanged(&self, key: &str) -> Compare {
        let held = self.held.lock().expect("never poisoned").get(key).copied();
        match held {
            Some(Held {
                revision,
                exists: true,
            }) => Compare::mod_revision(key, CompareOp::Equal, revision as i64),
            _ => Compare::version(key, CompareOp::Equal, 0),
        }
    }

    /// Runs `op` on `kind`/`id` if nobody changed it, nor anything else
    /// under the prefix, since this replica applied it.
    fn write(&mut self, kind: &str, id: &str, op: TxnOp, exists: bool) -> Result<u64, StoreError> {
        let key = self.key(kind, id);
        let applied = self.applied.load(Ordering::Relaxed) as i64;
        let nothing_newer = Compare::mod_revision(
            format!("{}/", self.target.prefix),
            CompareOp::Less,
            applied + 1,
        )
        .with_prefix();
        let txn = Txn::new()
            .when([self.unchanged(&key), nothing_newer])
            .and_then([op]);
        let response = self.block("writing", move |mut client| {
            let txn = txn.clone();
            async move { client.txn(txn).await }
        })?;
        if !response.succeeded() {
            return Err(StoreError::Conflict {
                kind: kind.to_string(),
                id: id.to_string(),
            });
        }
        let revision = response.header().map_or(0, |h| h.revision() as u64);
        self.hold(key, revision, exists);
        self.applied.fetch_max(revision, Ordering::Relaxed);
        Ok(revision)
    }
}

/// Runs `f` on `rt` and waits for it, at most `REQUEST_TIMEOUT`. A
/// request refused as unavailable (typically a member that is down, which
/// the client's balancing may pick until it has seen it fail) is tried
/// again within that time: a write is a compare-and-set transaction, so a
/// second attempt can never apply it twice.
fn wait<T, F, Fut>(
    rt: &tokio::runtime::Handle,
    target: &EtcdTarget,
    what: &str,
    f: F,
) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, etcd_client::Error>> + Send,
{
    let (tx, rx) = std::sync::mpsc::channel();
    rt.spawn(async move {
        let result = retrying(f).await;
        let _ = tx.send(result);
    });
    let result = rx
        .recv()
        .unwrap_or_else(|_| Err("the client's runtime stopped".to_string()));
    result.map_err(|message| StoreError::Unavailable {
        endpoints: target.name(),
        message: format!("{what}: {message}"),
    })
}

/// `f()` until it succeeds, fails otherwise than unavailable, or
/// `REQUEST_TIMEOUT` has passed; the last error as text.
async fn retrying<T, F, Fut>(mut f: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, etcd_client::Error>>,
{
    let give_up = tokio::time::Instant::now() + REQUEST_TIMEOUT;
    loop {
        match tokio::time::timeout_at(give_up, f()).await {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(e)) if unavailable(&e) && tokio::time::Instant::now() + RETRY < give_up => {
                tokio::time::sleep(RETRY).await
            }
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => {
                return Err(format!("no answer within {} s", REQUEST_TIMEOUT.as_secs()));
            }
        }
    }
}

fn unavailable(e: &etcd_client::Error) -> bool {
    matches!(e, etcd_client::Error::GRpcStatus(s) if s.code() == tonic::Code::Unavailable)
}

/// A one-thread runtime for the client, on a thread of its own, so that
/// the blocking pool and the control loop can both wait on it. Dropping
/// the returned sender ends it.
fn runtime_thread() -> std::io::Result<(tokio::runtime::Handle, tokio::sync::oneshot::Sender<()>)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let handle = rt.handle().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("epdns-etcd".to_string())
        .spawn(move || {
            rt.block_on(async {
                let _ = stopped.await;
            })
        })?;
    Ok((handle, stop))
}

impl Store for EtcdStore {
    fn get(&self, kind: &str, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = self.key(kind, id);
        let k = key.clone();
        let response = self.block("reading", move |mut client| {
            let k = k.clone();
            async move { client.get(k, None).await }
        })?;
        let revision = response.header().map_or(0, |h| h.revision() as u64);
        match response.kvs().first() {
            Some(kv) => {
                self.hold(key, kv.mod_revision() as u64, true);
                Ok(Some(kv.value().to_vec()))
            }
            None => {
                self.hold(key, revision, false);
                Ok(None)
            }
        }
    }

    fn put(&mut self, kind: &str, id: &str, value: &[u8]) -> Result<u64, StoreError> {
        let op = TxnOp::put(self.key(kind, id), value.to_vec(), None);
        self.write(kind, id, op, true)
    }

    fn delete(&mut self, kind: &str, id: &str) -> Result<u64, StoreError> {
        let op = TxnOp::delete(self.key(kind, id), None);
        self.write(kind, id, op, false)
    }

    fn list(&self, kind: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let from = format!("{}/{kind}/", self.target.prefix);
        let k = from.clone();
        let response = self.block("listing", move |mut client| {
            let k = k.clone();
            async move { client.get(k, Some(GetOptions::new().with_prefix())).await }
        })?;
        let mut out = Vec::new();
        for kv in response.kvs() {
            let key = String::from_utf8_lossy(kv.key()).into_owned();
            let id = key[from.len()..].to_string();
            self.hold(key, kv.mod_revision() as u64, true);
            out.push((id, kv.value().to_vec()));
        }
        Ok(out)
    }

    fn revision(&self) -> Result<u64, StoreError> {
        let key = format!("{}/", self.target.prefix);
        let response = self.block("reading the revision", move |mut client| {
            let key = key.clone();
            async move {
                client
                    .get(key, Some(GetOptions::new().with_prefix().with_count_only()))
                    .await
            }
        })?;
        Ok(response.header().map_or(0, |h| h.revision() as u64))
    }

    fn shared(&self) -> bool {
        true
    }

    fn watch(
        &mut self,
        revision: u64,
        health: Arc<StoreHealth>,
    ) -> Option<UnboundedReceiver<StoreEvent>> {
        let (tx, rx) = unbounded_channel();
        health.set(true);
        let prefix = self.target.prefix.clone();
        self.rt.spawn(check_health(
            self.client.clone(),
            prefix.clone(),
            health,
            tx.clone(),
        ));
        self.rt
            .spawn(follow(self.client.clone(), prefix, revision + 1, tx));
        Some(rx)
    }

    fn seen(&mut self, kind: &str, id: &str, revision: u64, exists: bool) -> bool {
        self.applied.fetch_max(revision, Ordering::Relaxed);
        let key = self.key(kind, id);
        let mut held = self.held.lock().expect("never poisoned");
        if held.get(&key).is_some_and(|h| h.revision >= revision) {
            return false;
        }
        held.insert(key, Held { revision, exists });
        true
    }

    fn forget(&mut self, revision: u64) {
        self.held.lock().expect("never poisoned").clear();
        self.applied.store(revision, Ordering::Relaxed);
    }
}

/// Sets `health` from a quorum read every `HEALTH_EVERY`, until the plane
/// stops listening.
async fn check_health(
    client: Client,
    prefix: String,
    health: Arc<StoreHealth>,
    events: UnboundedSender<StoreEvent>,
) {
    let key = format!("{prefix}/");
    let mut was = true;
    while !events.is_closed() {
        // Retried like a call: one member down is not the store down.
        let up = retrying(|| {
            let (mut client, key) = (client.clone(), key.clone());
            async move {
                client
                    .get(key, Some(GetOptions::new().with_prefix().with_count_only()))
                    .await
            }
        })
        .await
        .is_ok();
        health.set(up);
        if up != was {
            match up {
                true => info!(etcd = %key, "state store reachable again"),
                false => warn!(etcd = %key, "state store unreachable; serving the last state"),
            }
            was = up;
        }
        tokio::time::sleep(HEALTH_EVERY).await;
    }
}

/// Sends every change under `prefix` from revision `from` on; when the
/// watch breaks (etcd unreachable, history compacted), reads everything
/// again (`Reset`) and watches on from there.
async fn follow(
    mut client: Client,
    prefix: String,
    mut from: u64,
    tx: UnboundedSender<StoreEvent>,
) {
    let root = format!("{prefix}/");
    let mut reset = false;
    while !tx.is_closed() {
        if reset {
            match read_all(&mut client, &root).await {
                Ok((objects, revision)) => {
                    info!(etcd = %root, revision, "state store read again after the watch broke");
                    from = revision + 1;
                    if tx.send(StoreEvent::Reset { objects, revision }).is_err() {
                        return;
                    }
                }
                Err(_) => {
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            }
        }
        let options = WatchOptions::new()
            .with_prefix()
            .with_start_revision(from as i64)
            .with_progress_notify();
        let mut stream = match client.watch(root.clone(), Some(options)).await {
            Ok(s) => s,
            Err(_) => {
                reset = true;
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        loop {
            let response = match stream.message().await {
                Ok(Some(r)) => r,
                Ok(None) | Err(_) => break,
            };
            if response.canceled() {
                warn!(
                    etcd = %root,
                    compacted = response.compact_revision(),
                    reason = response.cancel_reason(),
                    "state store watch cancelled"
                );
                break;
            }
            for event in response.events() {
                let Some(kv) = event.kv() else { continue };
                let key = String::from_utf8_lossy(kv.key());
                let Some((kind, id)) = key[root.len()..].split_once('/') else {
                    continue;
                };
                let revision = kv.mod_revision() as u64;
                let event = match event.event_type() {
                    EventType::Put => StoreEvent::Put {
                        kind: kind.to_string(),
                        id: id.to_string(),
                        value: kv.value().to_vec(),
                        revision,
                    },
                    EventType::Delete => StoreEvent::Delete {
                        kind: kind.to_string(),
                        id: id.to_string(),
                        revision,
                    },
                };
                from = from.max(revision + 1);
                if tx.send(event).is_err() {
                    return;
                }
            }
        }
        // Whatever broke it, what was missed is read whole rather than
        // trusted to a history that may have been compacted meanwhile.
        reset = true;
        tokio::time::sleep(RETRY).await;
    }
}

type Objects = Vec<(String, String, Vec<u8>, u64)>;

/// Every object under `root` and the revision they were read at.
async fn read_all(client: &mut Client, root: &str) -> Result<(Objects, u64), etcd_client::Error> {
    let response = tokio::time::timeout(
        REQUEST_TIMEOUT,
        client.get(root, Some(GetOptions::new().with_prefix())),
    )
    .await
    .map_err(|_| etcd_client::Error::InvalidArgs("timed out".to_string()))??;
    let revision = response.header().map_or(0, |h| h.revision() as u64);
    let objects = response
        .kvs()
        .iter()
        .filter_map(|kv| {
            let key = String::from_utf8_lossy(kv.key());
            let (kind, id) = key[root.len()..].split_once('/')?;
            Some((
                kind.to_string(),
                id.to_string(),
                kv.value().to_vec(),
                kv.mod_revision() as u64,
            ))
        })
        .collect();
    Ok((objects, revision))
}

#[cfg(test)]
pub(crate) mod testing {
    //! One etcd member on loopback for the unit tests, with its own data
    //! folder; killed on drop.

    use std::net::TcpListener;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    pub(crate) struct Etcd {
        child: Option<Child>,
        pub(crate) client: u16,
        peer: u16,
        dir: tempfile::TempDir,
    }

    impl Drop for Etcd {
        fn drop(&mut self) {
            self.stop();
        }
    }

    impl Etcd {
        /// Kills the member (its data stays).
        pub(crate) fn stop(&mut self) {
            if let Some(mut child) = self.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }

        /// Starts it again on the same data and ports; returns once it
        /// listens.
        pub(crate) fn restart(&mut self) {
            self.stop();
            self.spawn();
        }

        fn spawn(&mut self) {
            let (client, peer) = (self.client, self.peer);
            let child = Command::new("etcd")
                .arg("--name=unit")
                .arg(format!(
                    "--data-dir={}",
                    self.dir.path().join("data").display()
                ))
                .arg(format!("--listen-client-urls=http://127.0.0.1:{client}"))
                .arg(format!("--advertise-client-urls=http://127.0.0.1:{client}"))
                .arg(format!("--listen-peer-urls=http://127.0.0.1:{peer}"))
                .arg(format!(
                    "--initial-advertise-peer-urls=http://127.0.0.1:{peer}"
                ))
                .arg(format!("--initial-cluster=unit=http://127.0.0.1:{peer}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("etcd starts");
            self.child = Some(child);
            let deadline = Instant::now() + Duration::from_secs(60);
            while std::net::TcpStream::connect(("127.0.0.1", client)).is_err() {
                assert!(Instant::now() < deadline, "etcd did not listen within 60 s");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port()
    }

    /// A running member, or `None` when `etcd` is not installed outside CI
    /// (`CI=true` makes it a failure: `.ci/run` installs it).
    pub(crate) fn start() -> Option<Etcd> {
        if Command::new("etcd").arg("--version").output().is_err() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "etcd missing, and CI=true requires it (.ci/run installs etcd-server)"
            );
            eprintln!("SKIPPED: etcd missing");
            return None;
        }
        let mut etcd = Etcd {
            child: None,
            client: free_port(),
            peer: free_port(),
            dir: tempfile::tempdir().expect("a temporary folder"),
        };
        etcd.spawn();
        Some(etcd)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[test]
    fn target_urls_name_members_and_prefix() {
        assert_eq!(
            EtcdTarget::parse("etcd://127.0.0.1:2379,127.0.0.2:2379/epdns/lab"),
            Some(Ok(EtcdTarget {
                endpoints: vec![
                    "http://127.0.0.1:2379".to_string(),
                    "http://127.0.0.2:2379".to_string()
                ],
                prefix: "/epdns/lab".to_string(),
            }))
        );
        assert_eq!(EtcdTarget::parse("/var/lib/epdns"), None);
        for bad in [
            "etcd://127.0.0.1:2379",
            "etcd://127.0.0.1:2379/",
            "etcd://host/p",
        ] {
            assert!(matches!(EtcdTarget::parse(bad), Some(Err(_))), "{bad}");
        }
    }

    fn open(etcd: &testing::Etcd, prefix: &str) -> EtcdStore {
        let url = format!("etcd://127.0.0.1:{}/{prefix}", etcd.client);
        EtcdStore::open(&EtcdTarget::parse(&url).unwrap().unwrap()).unwrap()
    }

    #[test]
    fn objects_are_filed_by_kind_with_etcd_revisions() {
        let Some(etcd) = testing::start() else { return };
        let mut s = open(&etcd, "unit");
        let start = s.revision().unwrap();
        let r1 = s.put("endpoint", "ep-b", b"2").unwrap();
        assert!(r1 > start);
        let r2 = s.put("endpoint", "ep-a", b"1").unwrap();
        s.put("zone", "z1", b"z").unwrap();
        let r4 = s.put("endpoint", "ep-a", b"1'").unwrap();
        let r5 = s.delete("endpoint", "ep-b").unwrap();
        assert!(r1 < r2 && r2 < r4 && r4 < r5, "{r1} {r2} {r4} {r5}");
        assert_eq!(s.revision().unwrap(), r5);
        // Another store on the same prefix reads the same; one on another
        // prefix reads nothing.
        let other = open(&etcd, "unit");
        assert_eq!(
            other.list("endpoint").unwrap(),
            [("ep-a".to_string(), b"1'".to_vec())]
        );
        assert_eq!(other.get("zone", "z1").unwrap(), Some(b"z".to_vec()));
        assert_eq!(other.get("zone", "ep-a").unwrap(), None);
        assert!(open(&etcd, "unit2").list("endpoint").unwrap().is_empty());
    }

    #[test]
    fn a_write_over_a_version_it_never_saw_is_refused() {
        let Some(etcd) = testing::start() else { return };
        let mut a = open(&etcd, "conflict");
        let mut b = open(&etcd, "conflict");
        // Both create the same new object: the second loses.
        a.put("endpoint", "ep-1", b"a").unwrap();
        let refused = b.put("endpoint", "ep-1", b"b").unwrap_err();
        assert!(
            matches!(&refused, StoreError::Conflict { kind, id } if kind == "endpoint" && id == "ep-1"),
            "{refused}"
        );
        // Once b holds a's version (as its plane does after the watch
        // brought it), its change goes through; a's next write, based on its
        // own older version, is refused, and so is its delete.
        let written = a.revision().unwrap();
        assert!(b.seen("endpoint", "ep-1", written, true));
        b.put("endpoint", "ep-1", b"b").unwrap();
        assert!(matches!(
            a.put("endpoint", "ep-1", b"a2"),
            Err(StoreError::Conflict { .. })
        ));
        assert!(matches!(
            a.delete("endpoint", "ep-1"),
            Err(StoreError::Conflict { .. })
        ));
        assert!(a.seen("endpoint", "ep-1", b.revision().unwrap(), true));
        assert_eq!(a.get("endpoint", "ep-1").unwrap(), Some(b"b".to_vec()));
        a.delete("endpoint", "ep-1").unwrap();
        assert_eq!(b.get("endpoint", "ep-1").unwrap(), None);
    }

    #[test]
    fn a_write_is_refused_while_another_object_changed_unseen() {
        let Some(etcd) = testing::start() else { return };
        let mut a = open(&etcd, "unseen");
        let mut b = open(&etcd, "unseen");
        // a hands out an address to a new endpoint; b, not having seen it,
        // must not create another endpoint (which may take the same one).
        let written = a.put("endpoint", "ep-1", b"10.0.0.5").unwrap();
        assert!(matches!(
            b.put("endpoint", "ep-2", b"10.0.0.5"),
            Err(StoreError::Conflict { .. })
        ));
        assert!(b.seen("endpoint", "ep-1", written, true));
        b.put("endpoint", "ep-2", b"10.0.0.6").unwrap();
        assert_eq!(a.list("endpoint").unwrap().len(), 2);
    }

    #[test]
    fn the_watch_reports_other_writers_and_resets_after_an_outage() {
        let Some(mut etcd) = testing::start() else {
            return;
        };
        let mut a = open(&etcd, "watch");
        let mut b = open(&etcd, "watch");
        let health = Arc::new(StoreHealth::default());
        let from = a.revision().unwrap();
        let mut events = a.watch(from, health.clone()).unwrap();
        let put = b.put("endpoint", "ep-1", b"x").unwrap();
        let deleted = b.delete("endpoint", "ep-1").unwrap();
        let next = |events: &mut UnboundedReceiver<StoreEvent>| {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                match events.try_recv() {
                    Ok(e) => return e,
                    Err(_) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(10))
                    }
                    Err(e) => panic!("no watch event within 30 s: {e}"),
                }
            }
        };
        assert_eq!(
            next(&mut events),
            StoreEvent::Put {
                kind: "endpoint".into(),
                id: "ep-1".into(),
                value: b"x".to_vec(),
                revision: put
            }
        );
        assert_eq!(
            next(&mut events),
            StoreEvent::Delete {
                kind: "endpoint".into(),
                id: "ep-1".into(),
                revision: deleted
            }
        );
        // Its own version, seen once, is not news a second time.
        assert!(a.seen("endpoint", "ep-1", deleted, false));
        assert!(!a.seen("endpoint", "ep-1", deleted, false));
        assert_eq!(health.get(), Some(true));

        // etcd stops: reported down, a write fails as unavailable (nothing
        // hangs past the request deadline).
        etcd.stop();
        wait_for(|| health.get() == Some(false), "the store reported down");
        assert!(matches!(
            b.put("endpoint", "ep-2", b"y"),
            Err(StoreError::Unavailable { .. })
        ));
        // It returns: up again, and what was written meanwhile arrives as a
        // whole new state read at once.
        etcd.restart();
        wait_for(|| health.get() == Some(true), "the store reported up");
        let again = b.put("endpoint", "ep-2", b"y").unwrap();
        loop {
            match next(&mut events) {
                StoreEvent::Reset { objects, revision } if revision >= again => {
                    assert_eq!(
                        objects,
                        [(
                            "endpoint".to_string(),
                            "ep-2".to_string(),
                            b"y".to_vec(),
                            again
                        )]
                    );
                    break;
                }
                StoreEvent::Put { id, .. } if id == "ep-2" => break,
                _ => {}
            }
        }
    }

    fn wait_for(mut f: impl FnMut() -> bool, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !f() {
            assert!(Instant::now() < deadline, "{what}: not within 30 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
